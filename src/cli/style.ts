import { Chalk, type ChalkInstance } from 'chalk';
import type { Writable } from 'node:stream';

/** Colour only for a terminal, and never with NO_COLOR set (https://no-color.org). */
export function styleFor(stream: Writable & { isTTY?: boolean }, env: NodeJS.ProcessEnv): ChalkInstance {
  const enabled = Boolean(stream.isTTY) && !env.NO_COLOR && env.TERM !== 'dumb';
  return new Chalk({ level: enabled ? 1 : 0 });
}

/** Aligned columns; the header row in bold when colour is on. */
export function formatTable(headers: string[], rows: string[][], style?: ChalkInstance): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const head = line(headers);
  return [style ? style.bold(head) : head, ...rows.map(line)].join('\n');
}

/** 1234567 → "1.2 MB" (decimal units, as registries and Docker report sizes). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
