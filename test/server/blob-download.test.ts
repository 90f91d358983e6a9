// Blob GETs that span many read chunks: exact bytes, exact byte counts for the access log and
// metrics, and no open file left behind when the client goes away or the read fails.
import { readdir, readlink } from 'node:fs/promises';
import { get, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { Registry } from '../../src/registry/registry.js';
import type { CompletedRequest } from '../../src/server/app.js';
import { FilesystemDriver } from '../../src/storage/filesystem.js';
import { randomBlob, uniqueRepo, type Blob } from '../helpers/fixtures.js';
import { blobPath, pushBlob, RegistryHttp, sleep } from '../helpers/http.js';
import { startRegistry, startServer, type TestRegistry } from '../helpers/server.js';

const MiB = 1024 * 1024;
/** Bounds the wait for the server to notice a disconnect. */
const SETTLE_MS = 5000;

/** Descriptors this process holds on files below `root`. */
async function openBelow(root: string): Promise<string[]> {
  const targets = await Promise.all((await readdir('/proc/self/fd')).map((fd) => readlink(join('/proc/self/fd', fd)).catch(() => '')));
  return targets.filter((t) => t.startsWith(root));
}

/** The next request the registry completes whose route is `route`. */
function nextCompleted(observed: CompletedRequest[], route: string): Promise<CompletedRequest> {
  return (async () => {
    for (const deadline = Date.now() + SETTLE_MS; Date.now() < deadline; await sleep(10)) {
      const done = observed.find((r) => r.route === route);
      if (done) return done;
    }
    throw new Error(`no completed ${route} request within ${SETTLE_MS} ms`);
  })();
}

describe('blob download', () => {
  const observed: CompletedRequest[] = [];
  const repo = uniqueRepo('download');
  let reg: TestRegistry;
  let http: RegistryHttp;
  let blob: Blob;

  beforeAll(async () => {
    reg = await startRegistry({ driver: 'filesystem', observers: [(done) => void observed.push(done)] });
    http = new RegistryHttp(reg.url);
    blob = randomBlob(5 * MiB + 321);
    await pushBlob(http, repo, blob);
  });

  afterAll(async () => {
    await http?.close();
    await reg?.close();
  });

  it.each([
    { range: undefined, start: 0, end: 5 * MiB + 320 },
    { range: `bytes=${MiB - 3}-${4 * MiB + 2}`, start: MiB - 3, end: 4 * MiB + 2 },
  ])('GET (Range $range) sends exactly the bytes and counts them', async ({ range, start, end }) => {
    observed.length = 0;
    const res = await http.get(blobPath(repo, blob.digest), range ? { headers: { range } } : {});
    expect(res.status).toBe(range ? 206 : 200);
    expect(res.body.equals(blob.data.subarray(start, end + 1))).toBe(true);
    expect((await nextCompleted(observed, 'blob')).bytesOut).toBe(end - start + 1);
  });

  it('closes the blob file when the client disconnects mid-body', async () => {
    // Larger than loopback's socket buffers, so the server is still reading when the client leaves.
    const large = randomBlob(32 * MiB);
    await pushBlob(http, repo, large);
    observed.length = 0;
    const res = await new Promise<IncomingMessage>((resolve, reject) => get(`${reg.url}${blobPath(repo, large.digest)}`, resolve).once('error', reject));
    await new Promise((resolve) => res.once('readable', resolve));
    res.destroy();
    const done = await nextCompleted(observed, 'blob');
    expect(done.bytesOut).toBeLessThan(large.size);
    for (const deadline = Date.now() + SETTLE_MS; (await openBelow(reg.root!)).length > 0 && Date.now() < deadline; ) await sleep(10);
    expect(await openBelow(reg.root!)).toEqual([]);
  });
});

describe('a read that fails mid-body', () => {
  it('cuts the response short instead of ending it as if complete', async () => {
    const reg = await startRegistry({ driver: 'filesystem' });
    const http = new RegistryHttp(reg.url);
    const repo = uniqueRepo('download');
    const blob = randomBlob(2 * MiB);
    await pushBlob(http, repo, blob);
    // The same store, but every read breaks after its first megabyte.
    const driver = new FilesystemDriver(reg.root!);
    driver.reader = async () =>
      Readable.from(
        (async function* () {
          yield blob.data.subarray(0, MiB);
          throw new Error('disk went away');
        })(),
      );
    const server = await startServer({ registry: new Registry({ driver }), logger: silentLogger, readOnly: false, deleteEnabled: true });
    try {
      const broken = new RegistryHttp(server.url);
      await expect(broken.get(blobPath(repo, blob.digest))).rejects.toThrow();
      await broken.close();
    } finally {
      await server.close();
      await http.close();
      await reg.close();
    }
  });
});
