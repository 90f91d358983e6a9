// Turns measurements into rows judged against the targets, and renders them.

/**
 * @typedef {{ ratio: number } | { maxMiB: number }} Target
 * @typedef {{ key: string, label: string, target?: Target }} Metric
 * @typedef {Metric & { regctl: number, cncf?: number, ratio?: number, pass?: boolean }} Row
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
 * @param {Record<string, { regctl: number, cncf?: number }>} figures by metric key
 * @returns {Row[]}
 */
export function judge(figures) {
  return METRICS.map((metric) => {
    const { regctl, cncf } = figures[metric.key];
    const ratio = cncf ? regctl / cncf : undefined;
    const target = metric.target;
    /** @type {boolean | undefined} */
    let pass;
    if (target && 'maxMiB' in target) pass = regctl <= target.maxMiB;
    else if (target && ratio !== undefined) pass = ratio >= target.ratio;
    return { ...metric, regctl, cncf, ratio, pass };
  });
}

/** @param {number} n */
const fmt = (n) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));

/** @param {Row} row */
function targetText(row) {
  if (!row.target) return '';
  return 'maxMiB' in row.target ? `≤ ${row.target.maxMiB} MiB` : `≥ ${row.target.ratio}×`;
}

/** @param {Row} row */
function verdict(row) {
  if (!row.target) return '';
  if (row.pass === undefined) return 'n/a';
  return row.pass ? 'pass' : 'FAIL';
}

/**
 * @param {Row[]} rows
 * @returns {string}
 */
export function renderTable(rows) {
  const header = ['metric', 'regctl', 'CNCF', 'regctl/CNCF', 'target', ''];
  const body = rows.map((row) => [
    row.label,
    fmt(row.regctl),
    row.cncf === undefined ? '—' : fmt(row.cncf),
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
