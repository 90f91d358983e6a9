import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { consumeProgress, countLayers, ProgressStreamError, type ProgressEvent } from '../../src/docker/progress.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

function stream(...chunks: string[]): Readable {
  return Readable.from(chunks.map((c) => Buffer.from(c)));
}

function lines(events: ProgressEvent[]): string {
  return events.map((e) => `${JSON.stringify(e)}\r\n`).join('');
}

describe('consumeProgress', () => {
  it('follows each layer to its last status and takes the digest from the push aux event', async () => {
    const text = lines([
      { status: 'The push refers to repository [127.0.0.1:5000/app]' },
      { status: 'Preparing', id: '0123456789ab', progressDetail: {} },
      { status: 'Preparing', id: 'ba9876543210', progressDetail: {} },
      { status: 'Pushing', id: '0123456789ab', progressDetail: { current: 512, total: 1024 } },
      { status: 'Layer already exists', id: 'ba9876543210', progressDetail: {} },
      { status: 'Pushed', id: '0123456789ab', progressDetail: {} },
      { status: `v1: digest: ${DIGEST} size: 735` },
      { aux: { Tag: 'v1', Digest: DIGEST, Size: 735 } },
    ]);
    const seen: ProgressEvent[] = [];
    // Split mid-line: the engine's chunks do not respect line ends.
    const outcome = await consumeProgress(stream(text.slice(0, 100), text.slice(100, 101), text.slice(101)), (e) => seen.push(e));
    expect(seen).toHaveLength(8);
    expect(outcome.digest).toBe(DIGEST);
    expect(outcome.layers).toEqual([
      { id: '0123456789ab', status: 'Pushed' },
      { id: 'ba9876543210', status: 'Layer already exists' },
    ]);
    expect(countLayers(outcome.layers)).toEqual({ transferred: 1, existing: 1 });
  });

  it('takes a pull digest from its status line and does not count the tag line as a layer', async () => {
    const outcome = await consumeProgress(
      stream(
        lines([
          { status: 'Pulling from app', id: 'v1' },
          { status: 'Already exists', id: '0123456789ab', progressDetail: {} },
          { status: 'Pull complete', id: 'ba9876543210', progressDetail: {} },
          { status: `Digest: ${DIGEST}` },
          { status: 'Status: Downloaded newer image for 127.0.0.1:5000/app:v1' },
        ]),
      ),
    );
    expect(outcome.digest).toBe(DIGEST);
    expect(countLayers(outcome.layers)).toEqual({ transferred: 1, existing: 1 });
  });

  it('fails a stream that carries an error event, with the engine message, after reading it all', async () => {
    const seen: ProgressEvent[] = [];
    const failing = consumeProgress(
      stream(
        lines([
          { status: 'Preparing', id: '0123456789ab' },
          { errorDetail: { message: 'unknown blob' }, error: 'unknown blob' },
          { status: 'trailing line' },
        ]),
      ),
      (e) => seen.push(e),
    );
    await expect(failing).rejects.toThrow(new ProgressStreamError('unknown blob'));
    expect(seen).toHaveLength(3);
  });

  it('rejects a line that is not JSON rather than skipping it', async () => {
    await expect(consumeProgress(stream('{"status":"ok"}\nnot json\n'))).rejects.toThrow(/not JSON: not json/);
  });

  it('parses a final line that has no newline', async () => {
    const outcome = await consumeProgress(stream(JSON.stringify({ aux: { Digest: DIGEST } })));
    expect(outcome.digest).toBe(DIGEST);
  });
});
