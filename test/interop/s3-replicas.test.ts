import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/client/client.js';
import { cephGate, createTestBucket, expectImage, startS3Replica, type S3Replica, type TestBucket } from '../helpers/ceph.js';
import { blobOf, buildImage, uniqueRepo } from '../helpers/fixtures.js';
import { finishUpload, patchChunk, pushImage, RegistryHttp, startUpload } from '../helpers/http.js';

const MiB = 1024 * 1024;

describe.runIf(cephGate('S3 replicas (Ceph radosgw)'))('two replicas on one S3 bucket', { timeout: 120_000 }, () => {
  let bucket: TestBucket;
  let a: S3Replica;
  let b: S3Replica;
  let ca: RegistryClient;
  let cb: RegistryClient;
  let httpA: RegistryHttp;
  let httpB: RegistryHttp;

  beforeAll(async () => {
    bucket = await createTestBucket('replicas');
    // The production link cache (1 s): what two `regctl serve` processes would run with.
    [a, b] = await Promise.all([startS3Replica(bucket), startS3Replica(bucket)]);
    ca = new RegistryClient({ registry: a.host, scheme: 'http' });
    cb = new RegistryClient({ registry: b.host, scheme: 'http' });
    [httpA, httpB] = [new RegistryHttp(a.url), new RegistryHttp(b.url)];
  });

  afterAll(async () => {
    await Promise.all([ca?.close(), cb?.close(), httpA?.close(), httpB?.close()]);
    await Promise.all([a?.close(), b?.close()]);
    await bucket?.remove();
  });

  it('serves through one replica what was pushed through the other, at once', async () => {
    const repo = uniqueRepo('replica/push');
    const image = buildImage({ layers: 3, layerSize: 64 * 1024 });
    await pushImage(httpA, repo, image, 'v1');
    await expectImage(cb, repo, 'v1', image);
    expect(await cb.tags(repo)).toEqual(['v1']);
    expect(await cb.catalog()).toContain(repo);
  });

  it('finishes on one replica a chunked upload started and continued on both', async () => {
    const repo = uniqueRepo('replica/chunked');
    // 6 MiB + 1 MiB + 5 MiB + 3 bytes: a large head copied inside S3, small tails merged.
    const chunks = [6 * MiB, MiB, 5 * MiB, 3].map((n) => Buffer.alloc(n, n % 251));
    const blob = blobOf(Buffer.concat(chunks));
    const { location } = await startUpload(httpA, repo);
    let path = location;
    let offset = 0;
    for (const [i, chunk] of chunks.entries()) {
      const [via, other] = i % 2 === 0 ? [httpB, httpA] : [httpA, httpB];
      const res = await patchChunk(via, path, chunk, { start: offset });
      expect(res.status, `PATCH ${i}`).toBe(202);
      offset += chunk.length;
      expect(res.headers.range).toBe(`0-${offset - 1}`);
      path = via.location(res);
      // Status from the other replica sees the same offset: the object in S3 is the only state.
      expect((await other.get(path)).headers.range).toBe(`0-${offset - 1}`);
    }
    expect((await finishUpload(httpB, path, blob.digest)).status).toBe(201);
    const got = await ca.getBlob(repo, blob.digest);
    expect((await buffer(got.stream)).equals(blob.data)).toBe(true);
  });

  it('shows a tag moved through one replica on the other within the 1 s link cache', async () => {
    const repo = uniqueRepo('replica/stale');
    const [first, second] = [buildImage(), buildImage()];
    await pushImage(httpA, repo, first, 'latest');
    expect((await cb.getManifest(repo, 'latest')).digest).toBe(first.manifest.digest);
    await pushImage(httpA, repo, second, 'latest');
    const moved = Date.now();
    let seen = (await cb.getManifest(repo, 'latest')).digest;
    while (seen !== second.manifest.digest && Date.now() - moved < 3000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      seen = (await cb.getManifest(repo, 'latest')).digest;
    }
    expect(seen).toBe(second.manifest.digest);
    expect(Date.now() - moved).toBeLessThan(1500);
  });

  it('collects garbage on one replica while the other takes pushes, losing none of them', async () => {
    const graceMs = 2000;
    const gone = uniqueRepo('replica/garbage');
    const garbage = buildImage({ layers: 2, layerSize: 32 * 1024 });
    await pushImage(httpA, gone, garbage, 'old');
    await ca.deleteManifest(gone, garbage.manifest.digest);
    await new Promise((resolve) => setTimeout(resolve, graceMs + 500));

    const live = uniqueRepo('replica/live');
    const images = Array.from({ length: 6 }, () => buildImage({ layers: 2, layerSize: 32 * 1024 }));
    const pushes = (async () => {
      for (const [i, image] of images.entries()) await pushImage(httpB, live, image, `t${i}`);
    })();
    const report = await a.registry.collectGarbage({ dryRun: false, deleteUntagged: true, graceMs, uploadsOlderThanMs: 24 * 3600_000 });
    await pushes;

    const removed = report.removed.blobs.map((r) => r.digest);
    expect(removed).toEqual(expect.arrayContaining([garbage.manifest.digest, ...garbage.blobs.map((g) => g.digest)]));
    const pushed = images.flatMap((image) => [image.manifest.digest, ...image.blobs.map((blob) => blob.digest)]);
    expect(removed.filter((digest) => pushed.includes(digest))).toEqual([]);
    for (const [i, image] of images.entries()) await expectImage(ca, live, `t${i}`, image);
    for (const blob of garbage.blobs) expect(await cb.headBlob(gone, blob.digest)).toBeUndefined();
  });
});
