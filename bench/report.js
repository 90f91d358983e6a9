// Turns measurements into rows judged against the targets, and renders them.

/**
 * @typedef {{ ratio: number } | { maxRatio: number } | { maxMiB: number }} Target
 * @typedef {{ key: string, label: string, target?: Target }} Metric
 * @typedef {Metric & { regctl: number, cncf?: number, skopeo?: number, docker?: number, ratio?: number, pass?: boolean }} Row
 * @typedef {'cncf' | 'skopeo' | 'docker'} Versus the other column: the CNCF registry, skopeo for copies, docker for engine pushes
 */

/** @type {Metric[]} */
export const METRICS = [
  { key: 'pushMonolithic', label: 'blob push, monolithic (MB/s)', target: { ratio: 2 } },
  { key: 'pushChunked', label: 'blob push, 16 MiB chunks (MB/s)', target: { ratio: 2 } },
  { key: 'pull', label: 'blob pull (MB/s)', target: { ratio: 1 } },
  { key: 'manifestGet', label: 'manifest GET (req/s)', target: { ratio: 5 } },
  { key: 'manifestHead', label: 'manifest HEAD (req/s)', target: { ratio: 5 } },
  { key: 'manifestPut', label: 'manifest PUT (PUT/s)' },
  { key: 'peakRss', label: 'regctl peak RSS, uploads (MiB)', target: { maxMiB: 120 } },
];

/**
 * Seconds, so lower is better: the target is a ceiling on regctl/skopeo.
 * @type {Metric[]}
 */
export const COPY_METRICS = [{ key: 'copy', label: 'copy 5-layer image, 5 × 20 MiB (s)', target: { maxRatio: 1 } }];

/**
 * Seconds, so lower is better: regctl gc against `registry garbage-collect` on copies of one tree.
 * @param {string} label
 * @returns {Metric[]}
 */
export const gcMetrics = (label) => [{ key: 'gc', label, target: { maxRatio: 1 } }];

/**
 * @param {Record<string, { regctl: number, cncf?: number, skopeo?: number, docker?: number }>} figures by metric key
 * @param {Metric[]} [metrics]
 * @param {Versus} [versus]
 * @returns {Row[]}
 */
export function judge(figures, metrics = METRICS, versus = 'cncf') {
  return metrics.map((metric) => {
    const { regctl, [versus]: other } = figures[metric.key];
    const ratio = other ? regctl / other : undefined;
    const target = metric.target;
    /** @type {boolean | undefined} */
    let pass;
    if (target && 'maxMiB' in target) pass = regctl <= target.maxMiB;
    else if (target && ratio !== undefined) pass = 'maxRatio' in target ? ratio <= target.maxRatio : ratio >= target.ratio;
    return { ...metric, regctl, [versus]: other, ratio, pass };
  });
}

/** @param {number} n */
const fmt = (n) => n.toFixed(n >= 100 ? 0 : n >= 10 ? 1 : 2);

/** @param {Row} row */
function targetText(row) {
  if (!row.target) return '';
  if ('maxMiB' in row.target) return `≤ ${row.target.maxMiB} MiB`;
  return 'maxRatio' in row.target ? `≤ ${row.target.maxRatio}×` : `≥ ${row.target.ratio}×`;
}

/** @param {Row} row */
function verdict(row) {
  if (!row.target) return '';
  if (row.pass === undefined) return 'n/a';
  return row.pass ? 'pass' : 'FAIL';
}

const VERSUS_NAME = { cncf: 'CNCF', skopeo: 'skopeo', docker: 'docker' };

/**
 * @param {Row[]} rows
 * @param {Versus} [versus]
 * @returns {string}
 */
export function renderTable(rows, versus = 'cncf') {
  const name = VERSUS_NAME[versus];
  const header = ['metric', 'regctl', name, `regctl/${name}`, 'target', ''];
  const body = rows.map((row) => [
    row.label,
    fmt(row.regctl),
    row[versus] === undefined ? '—' : fmt(/** @type {number} */ (row[versus])),
    row.ratio === undefined ? '—' : `${row.ratio.toFixed(2)}×`,
    targetText(row),
    verdict(row),
  ]);
  const widths = header.map((_, i) => Math.max(...[header, ...body].map((cells) => cells[i].length)));
  /** @param {string[]} cells */
  const line = (cells) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
