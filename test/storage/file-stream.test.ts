// FileRangeStream: exact ranges, buffers reused only when the consumer hands them back, and the
// descriptor closed however the stream ends.
import { randomBytes } from 'node:crypto';
import { fstat, openSync, type Stats } from 'node:fs';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileRangeStream } from '../../src/storage/file-stream.js';

const MiB = 1024 * 1024;
/** Several chunks and a partial last one. */
const SIZE = 5 * MiB + 12345;

/** Whether `fd` is still open in this process. */
function isOpen(fd: number): Promise<boolean> {
  return new Promise((resolve) => fstat(fd, (err: Error | null, _: Stats) => resolve(!err)));
}

/** Every chunk, copied as it arrives, and the distinct memory the chunks came from. */
async function consume(stream: FileRangeStream, recycle: boolean): Promise<{ data: Buffer; memories: number; chunks: number }> {
  const copies: Buffer[] = [];
  const memories = new Set<ArrayBufferLike>();
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    copies.push(Buffer.from(chunk));
    memories.add(chunk.buffer);
    if (recycle) stream.recycle(chunk);
  }
  return { data: Buffer.concat(copies), memories: memories.size, chunks: copies.length };
}

describe('FileRangeStream', () => {
  let dir: string;
  let file: string;
  let content: Buffer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'regctl-file-stream-'));
    file = join(dir, 'blob');
    content = randomBytes(SIZE);
    await writeFile(file, content);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    { start: 0, end: SIZE },
    { start: MiB - 1, end: 3 * MiB + 1 },
    { start: SIZE - 1, end: SIZE },
    { start: SIZE, end: SIZE },
  ])('reads exactly [$start, $end) and then closes the file', async ({ start, end }) => {
    const fd = openSync(file, 'r');
    const { data } = await consume(new FileRangeStream(fd, start, end), true);
    expect(data.equals(content.subarray(start, end))).toBe(true);
    expect(await isOpen(fd)).toBe(false);
  });

  it('reads into returned chunks again, and gives a consumer that keeps its chunks fresh memory', async () => {
    const recycled = await consume(new FileRangeStream(openSync(file, 'r'), 0, SIZE), true);
    expect(recycled.data.equals(content)).toBe(true);
    expect(recycled.chunks).toBe(6);
    expect(recycled.memories).toBeLessThanOrEqual(3);

    const kept = await consume(new FileRangeStream(openSync(file, 'r'), 0, SIZE), false);
    expect(kept.data.equals(content)).toBe(true);
    expect(kept.memories).toBe(kept.chunks);
  });

  it('ignores memory it did not hand out', async () => {
    const stream = new FileRangeStream(openSync(file, 'r'), 0, SIZE);
    const foreign = Buffer.alloc(MiB);
    stream.recycle(foreign);
    const { data } = await consume(stream, true);
    expect(data.equals(content)).toBe(true);
    expect(foreign.equals(Buffer.alloc(MiB))).toBe(true);
  });

  it('sizes its buffers to a small range', async () => {
    const stream = new FileRangeStream(openSync(file, 'r'), 10, 20);
    const [chunk] = await stream.toArray();
    expect((chunk as Buffer).buffer.byteLength).toBe(10);
  });

  it('closes the file when destroyed mid-read', async () => {
    const fd = openSync(file, 'r');
    const stream = new FileRangeStream(fd, 0, SIZE);
    const closed = new Promise((resolve) => stream.once('close', resolve));
    stream.once('data', () => stream.destroy());
    await closed;
    expect(await isOpen(fd)).toBe(false);
  });

  it('ends early, like fs.createReadStream, when the file shrank after it was opened', async () => {
    const short = join(dir, 'short');
    await writeFile(short, content);
    const fd = openSync(short, 'r');
    await truncate(short, MiB + 7);
    const { data } = await consume(new FileRangeStream(fd, 0, SIZE), true);
    expect(data.equals(content.subarray(0, MiB + 7))).toBe(true);
    expect(await isOpen(fd)).toBe(false);
  });
});
