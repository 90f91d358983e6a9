import type { Writable } from 'node:stream';
import { formatBytes } from '../cli/style.js';
import { layerOf, type LayerProgress, type ProgressEvent } from './progress.js';

const BAR_WIDTH = 24;

/** One line per layer: its status, and for a transfer in flight a bar with bytes done and total. */
export function renderLayer(layer: LayerProgress): string {
  const line = `${layer.id}: ${layer.status}`;
  if (!layer.total || layer.current === undefined) return line;
  const done = Math.min(BAR_WIDTH, Math.round((layer.current / layer.total) * BAR_WIDTH));
  const bar = `[${'='.repeat(Math.max(0, done - 1))}${done > 0 ? '>' : ''}${' '.repeat(BAR_WIDTH - done)}]`;
  return `${line} ${bar} ${formatBytes(layer.current)}/${formatBytes(layer.total)}`;
}

export interface ProgressView {
  event(event: ProgressEvent): void;
  finish(): void;
}

/**
 * Redraws the block of layer lines in place, like `docker push`. Only for a terminal: piped stderr
 * or --json gets no progress at all, so logs hold just the result.
 */
export function terminalProgress(stream: Writable & { isTTY?: boolean }, title: string, enabled: boolean): ProgressView | undefined {
  if (!enabled || !stream.isTTY) return undefined;
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
      const layer = layerOf(event);
      if (!layer) return;
      // A "Pushing" event without a byte count would otherwise wipe the bar of the one before.
      const previous = layers.get(layer.id);
      layers.set(layer.id, layer.total === undefined && previous?.status === layer.status ? previous : layer);
      draw();
    },
    finish() {
      if (layers.size) draw();
    },
  };
}
