import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { progressView, renderLayer, summarize, SUMMARY_INTERVAL_MS, terminalProgress } from '../../src/docker/display.js';

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
    const view = terminalProgress(stream, 'pushing app');
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
    const view = terminalProgress(stream, 't');
    view.event({ status: 'Pushing', id: '0123456789ab', progressDetail: { current: 10, total: 20 } });
    view.event({ status: 'Pushing', id: '0123456789ab', progressDetail: {} });
    expect(text().trimEnd().endsWith('10 B/20 B')).toBe(true);
  });

});

describe('progressView', () => {
  it('draws layer lines on a terminal, and nothing at all for --json', () => {
    const tty = terminal(true);
    progressView(tty.stream, 'pushing app', true)!.event({ status: 'Preparing', id: '0123456789ab' });
    expect(tty.text()).toContain('\x1b[2K0123456789ab: Preparing\n');
    expect(progressView(terminal(true).stream, 't', false)).toBeUndefined();
    expect(progressView(terminal(false).stream, 't', false)).toBeUndefined();
  });

  it('writes a summary line at most every interval when stderr is not a terminal, and the totals at the end', () => {
    const { stream, text } = terminal(false);
    let clock = 0;
    const view = progressView(stream, 'pushing app', true, () => clock)!;
    const a = '0123456789ab';
    const b = 'ba9876543210';
    view.event({ status: 'The push refers to repository [localhost:5000/app]' });
    expect(text(), 'no title before the engine names a layer').toBe('');
    view.event({ status: 'Preparing', id: a });
    view.event({ status: 'Preparing', id: b });
    view.event({ status: 'Pushing', id: a, progressDetail: { current: 10_000_000, total: 40_000_000 } });
    clock = SUMMARY_INTERVAL_MS - 1;
    view.event({ status: 'Pushing', id: b, progressDetail: { current: 1_000_000, total: 60_000_000 } });
    expect(text()).toBe('pushing app\n');
    clock = SUMMARY_INTERVAL_MS;
    view.event({ status: 'Pushing', id: a, progressDetail: { current: 30_000_000, total: 40_000_000 } });
    // Many more events within the interval: no line for any of them.
    for (let i = 1; i <= 50; i++) view.event({ status: 'Pushing', id: b, progressDetail: { current: i * 1_000_000, total: 60_000_000 } });
    view.event({ status: 'Pushed', id: a });
    view.event({ status: 'Pushed', id: b });
    view.event({ status: 'v1: digest: sha256:abc size: 1' });
    view.finish();
    expect(text()).toBe('pushing app\npushing app: 0/2 layers, 31 MB/100 MB\npushing app: 2/2 layers, 100 MB/100 MB\n');
  });
  it('does not repeat the last summary at the end when nothing changed since', () => {
    const { stream, text } = terminal(false);
    let clock = 0;
    const view = progressView(stream, 't', true, () => clock)!;
    view.event({ status: 'Preparing', id: '0123456789ab' });
    clock = SUMMARY_INTERVAL_MS;
    view.event({ status: 'Pushed', id: '0123456789ab' });
    view.finish();
    expect(text()).toBe('t\nt: 1/1 layers\n');
  });
});

describe('summarize', () => {
  it('counts layers the registry already had as finished, and leaves bytes out when no size is known', () => {
    expect(summarize([{ id: 'a', status: 'Layer already exists' }, { id: 'b', status: 'Preparing' }])).toBe('1/2 layers');
    expect(summarize([{ id: 'a', status: 'Pull complete' }, { id: 'b', status: 'Downloading', current: 500, total: 1000 }])).toBe('1/2 layers, 500 B/1.0 kB');
    // The engine's count of bytes sent can pass the layer's (unpacked) size: never more than the total.
    expect(summarize([{ id: 'a', status: 'Pushing', current: 1500, total: 1000 }])).toBe('0/1 layers, 1.0 kB/1.0 kB');
  });
});
