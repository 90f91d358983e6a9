// The gzip chosen per layer: full deflate for data that compresses, stored blocks for data that does not.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gzipFor } from '../../src/docker/layer-gzip.js';

function fileOf(data: Buffer) {
  return { size: data.length, open: (range?: { start: number; end: number }) => Readable.from([range ? data.subarray(range.start, range.end + 1) : data]) };
}

async function gzipped(data: Buffer): Promise<Buffer> {
  const gzip = await gzipFor(fileOf(data), 64 * 1024);
  const out: Buffer[] = [];
  await pipeline(Readable.from([data]), gzip, async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) out.push(chunk);
  });
  return Buffer.concat(out);
}

describe('gzipFor', () => {
  it('compresses data that compresses, sampled from several places', async () => {
    const text = Buffer.from('regctl pushes layers. '.repeat(200_000));
    const packed = await gzipped(text);
    expect(packed.length).toBeLessThan(text.length / 20);
    // equals(): toEqual walks megabytes element by element.
    expect(gunzipSync(packed).equals(text)).toBe(true);
  });

  it('stores random data: valid gzip, barely larger than the input', async () => {
    const random = randomBytes(3 * 1024 * 1024);
    const packed = await gzipped(random);
    expect(packed.length).toBeLessThan(random.length * 1.001);
    expect(gunzipSync(packed).equals(random)).toBe(true);
  });

  it('judges a small file by all of it, and an empty one as compressible', async () => {
    expect(gunzipSync(await gzipped(Buffer.from('tiny'))).toString()).toBe('tiny');
    expect(gunzipSync(await gzipped(Buffer.alloc(0))).length).toBe(0);
  });
});
