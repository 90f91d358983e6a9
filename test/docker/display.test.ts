import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { renderLayer, terminalProgress } from '../../src/docker/display.js';

function terminal(isTTY: boolean): { stream: PassThrough & { isTTY: boolean }; text: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY });
  let text = '';
  stream.on('data', (d) => (text += d));
  return { stream, text: () => text };
}

describe('renderLayer', () => {
  it('draws a bar with bytes for a transfer in flight', () => {
    expect(renderLayer({ id: '0123456789ab', status: 'Pushing', current: 500_000, total: 1_000_000 })).toBe(
      `0123456789ab: Pushing [${'='.repeat(11)}>${' '.repeat(12)}] 500 kB/1.0 MB`,
    );
  });

  it('shows only the status when there are no byte counts', () => {
    expect(renderLayer({ id: '0123456789ab', status: 'Layer already exists' })).toBe('0123456789ab: Layer already exists');
  });
});

describe('terminalProgress', () => {
  it('redraws one line per layer in place on a terminal', () => {
    const { stream, text } = terminal(true);
    const view = terminalProgress(stream, 'pushing app', true)!;
    view.event({ status: 'Preparing', id: '0123456789ab' });
    view.event({ status: 'Preparing', id: 'ba9876543210' });
    view.event({ status: 'Pushed', id: '0123456789ab' });
    view.event({ status: 'v1: digest: sha256:abc size: 1' });
    view.finish();
    const out = text();
    expect(out.startsWith('pushing app\n')).toBe(true);
    // The last frame moves up over the two layer lines and rewrites both.
    expect(out.endsWith('\x1b[2A\x1b[2K0123456789ab: Pushed\n\x1b[2Kba9876543210: Preparing\n')).toBe(true);
    expect(out).not.toContain('digest');
  });

  it('keeps the last bar when a "Pushing" event comes without byte counts', () => {
    const { stream, text } = terminal(true);
    const view = terminalProgress(stream, 't', true)!;
    view.event({ status: 'Pushing', id: '0123456789ab', progressDetail: { current: 10, total: 20 } });
    view.event({ status: 'Pushing', id: '0123456789ab', progressDetail: {} });
    expect(text().trimEnd().endsWith('10 B/20 B')).toBe(true);
  });

  it('draws nothing when stderr is not a terminal or the output is JSON', () => {
    expect(terminalProgress(terminal(false).stream, 't', true)).toBeUndefined();
    expect(terminalProgress(terminal(true).stream, 't', false)).toBeUndefined();
  });
});
