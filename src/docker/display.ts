import type { Writable } from 'node:stream';
import { formatBytes } from '../cli/style.js';
import { layerOf, type LayerProgress, type ProgressEvent } from './progress.js';

const BAR_WIDTH = 24;
/** Piped stderr (CI logs, `2>file`) gets a summary line this often at most, not a line per event. */
export const SUMMARY_INTERVAL_MS = 2_000;
// Statuses after which a layer has nothing more to move, for a push or a pull.
const FINISHED = /^(Pushed|Layer already exists|Mounted from|Pull complete|Already exists)/;

/** One line per layer: its status, and for a transfer in flight a bar with bytes done and total. */
export function renderLayer(layer: LayerProgress): string {
  const line = `${layer.id}: ${layer.status}`;
  if (!layer.total || layer.current === undefined || FINISHED.test(layer.status)) return line;
  const done = Math.min(BAR_WIDTH, Math.round((layer.current / layer.total) * BAR_WIDTH));
  const bar = `[${'='.repeat(Math.max(0, done - 1))}${done > 0 ? '>' : ''}${' '.repeat(BAR_WIDTH - done)}]`;
  return `${line} ${bar} ${formatBytes(layer.current)}/${formatBytes(layer.total)}`;
}

export interface ProgressView {
  event(event: ProgressEvent): void;
  finish(): void;
}

/**
 * The display for one transfer on `stream`: redrawn layer lines on a terminal, periodic one-line
 * summaries otherwise; nothing at all for --json (`enabled` false), whose stderr stays empty.
 */
export function progressView(stream: Writable & { isTTY?: boolean }, title: string, enabled: boolean, now: () => number = Date.now): ProgressView | undefined {
  if (!enabled) return undefined;
  return stream.isTTY ? terminalProgress(stream, title) : summaryProgress(stream, title, now);
}

/** Redraws the block of layer lines in place, like `docker push`. */
export function terminalProgress(stream: Writable, title: string): ProgressView {
  const layers = new Map<string, LayerProgress>();
  let drawn = 0;
  stream.write(`${title}\n`);
  const draw = (): void => {
    const lines = [...layers.values()].map(renderLayer);
    let text = drawn > 0 ? `\x1b[${drawn}A` : '';
    for (const line of lines) text += `\x1b[2K${line}\n`;
    stream.write(text);
    drawn = lines.length;
  };
  return {
    event(event) {
      if (remember(layers, event)) draw();
    },
    finish() {
      if (layers.size) draw();
    },
  };
}

/**
 * For a log: the title (once the engine names a layer), then at most one line per SUMMARY_INTERVAL_MS while something changed
 * ("3/5 layers, 41 MB/100 MB"), and the totals at the end, so a long push shows it is alive
 * without a line per progress event.
 */
export function summaryProgress(stream: Writable, title: string, now: () => number = Date.now): ProgressView {
  const layers = new Map<string, LayerProgress>();
  let last = now();
  let changed = false;
  const line = (): void => {
    stream.write(`${title}: ${summarize([...layers.values()])}\n`);
    last = now();
    changed = false;
  };
  return {
    event(event) {
      // The title waits for the first layer, so a push the engine refuses at once logs only its error.
      if (layerOf(event) && layers.size === 0) stream.write(`${title}\n`);
      changed = remember(layers, event) || changed;
      if (changed && now() - last >= SUMMARY_INTERVAL_MS) line();
    },
    finish() {
      if (changed) line();
    },
  };
}

/** "3/5 layers, 41 MB/100 MB": layers finished, and bytes of the sizes the engine has announced. */
export function summarize(layers: LayerProgress[]): string {
  const finished = layers.filter((l) => FINISHED.test(l.status)).length;
  const total = layers.reduce((sum, l) => sum + (l.total ?? 0), 0);
  // The engine counts bytes sent against the layer's unpacked size, so a layer's count can pass its total.
  const current = layers.reduce((sum, l) => sum + (FINISHED.test(l.status) ? (l.total ?? 0) : Math.min(l.current ?? 0, l.total ?? 0)), 0);
  const bytes = total > 0 ? `, ${formatBytes(current)}/${formatBytes(total)}` : '';
  return `${finished}/${layers.length} layers${bytes}`;
}

/**
 * Records the event's layer state; false when it names no layer. A status without byte counts
 * ("Pushing" with an empty detail, or "Pushed") keeps the sizes seen before, so bars and totals
 * do not drop back to nothing.
 */
function remember(layers: Map<string, LayerProgress>, event: ProgressEvent): boolean {
  const layer = layerOf(event);
  if (!layer) return false;
  const previous = layers.get(layer.id);
  if (previous && layer.total === undefined) {
    layers.set(layer.id, layer.status === previous.status ? previous : { ...layer, ...(previous.total !== undefined && { total: previous.total, current: previous.current }) });
  } else {
    layers.set(layer.id, layer);
  }
  return true;
}
