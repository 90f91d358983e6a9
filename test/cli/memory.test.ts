import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startServeProcess } from '../helpers/cli.js';

const MiB = 1024 * 1024;

async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** The same random MiB, `count` times: a big body without a big buffer in the test either. */
function* repeated(block: Buffer, count: number): Generator<Buffer> {
  for (let i = 0; i < count; i++) yield block;
}

// Blobs must stream: the server's memory may not grow with the size of what it stores or serves.
describe.runIf(process.platform === 'linux')('memory while streaming', () => {
  it('a 512 MiB push and pull keep regctl serve under 150 MiB resident', async () => {
    const srv = await startServeProcess(['--ephemeral', '--log-level', 'error']);
    try {
      const block = randomBytes(MiB);
      const count = 512;
      const hash = createHash('sha256');
      for (const b of repeated(block, count)) hash.update(b);
      const digest = `sha256:${hash.digest('hex')}`;

      const push = await request(`${srv.url}/v2/big/blob/blobs/uploads/?digest=${digest}`, {
        method: 'POST',
        body: Readable.from(repeated(block, count)),
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(count * MiB) },
      });
      await push.body.dump();
      expect(push.statusCode).toBe(201);

      const pull = await request(`${srv.url}/v2/big/blob/blobs/${digest}`);
      const check = createHash('sha256');
      for await (const chunk of pull.body) check.update(chunk as Buffer);
      expect(`sha256:${check.digest('hex')}`).toBe(digest);

      expect(await peakRss(srv.child.pid!)).toBeLessThan(150 * MiB);
    } finally {
      await srv.stop();
    }
  });
});
