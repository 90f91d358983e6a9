import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Pool } from 'undici';
import { blobOf, buildImage, buildIndex, type Image } from '../helpers/fixtures.js';
import { blobPath, expectError, manifestPath, pushImage, pushManifestOk, RegistryHttp, sleep, uploadsPath } from '../helpers/http.js';
import * as paths from '../../src/storage/paths.js';
import { recordingLogger, startProxy, startUpstream, type TestProxy, type TestUpstream } from './proxy-harness.js';

const TTL = 60_000;
const GC = { dryRun: false, deleteUntagged: false, graceMs: 0, uploadsOlderThanMs: 86_400_000 };

function name(): string {
  return `team/r${randomBytes(4).toString('hex')}`;
}

/** Reads (GET and HEAD, not the test's own pushes) that reached the upstream for one repository. */
function reads(upstream: TestUpstream, repo?: string): TestUpstream['requests'] {
  return upstream.requests.filter((r) => (repo === undefined || r.repo === repo) && (r.method === 'GET' || r.method === 'HEAD'));
}

function hits(upstream: TestUpstream, repo: string, route: string, method?: string): number {
  return reads(upstream, repo).filter((r) => r.route === route && (!method || r.method === method)).length;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

describe('pull-through cache against a regctl upstream', () => {
  let upstream: TestUpstream;
  let proxy: TestProxy;
  let up: RegistryHttp;
  let http: RegistryHttp;
  const logger = recordingLogger();

  beforeEach(async () => {
    upstream = await startUpstream();
    proxy = await startProxy([{ prefix: 'up.example', remoteUrl: upstream.url, ttlMs: TTL, cacheTtlMs: 10 * TTL }], { logger });
    up = new RegistryHttp(upstream.url);
    http = new RegistryHttp(proxy.url);
    logger.warnings.length = 0;
  });
  afterEach(async () => {
    await Promise.all([up.close(), http.close()]);
    await proxy.close();
    await upstream.stop();
  });

  async function seed(repo: string, tag = 'v1', image: Image = buildImage({ layers: 2, layerSize: 64 * 1024 })): Promise<Image> {
    await pushImage(up, repo, image, tag);
    return image;
  }

  it('pulls an image through, stores it, and serves the second pull without the upstream', async () => {
    const repo = name();
    const image = await seed(repo);
    const res = await http.get(manifestPath(`up.example/${repo}`, 'v1'));
    expect(res.status).toBe(200);
    expect(res.headers['docker-content-digest']).toBe(image.manifest.digest);
    expect(res.body.equals(image.manifest.body)).toBe(true);
    for (const blob of image.blobs) {
      const got = await http.get(blobPath(`up.example/${repo}`, blob.digest));
      expect(got.status, got.request).toBe(200);
      expect(got.body.equals(blob.data)).toBe(true);
    }
    const seen = reads(upstream).length;
    expect((await http.get(manifestPath(`up.example/${repo}`, 'v1'))).status).toBe(200);
    expect((await http.get(manifestPath(`up.example/${repo}`, image.manifest.digest))).status).toBe(200);
    for (const blob of image.blobs) expect((await http.get(blobPath(`up.example/${repo}`, blob.digest))).body.equals(blob.data)).toBe(true);
    expect(reads(upstream).length).toBe(seen);
    // Stored in the CNCF layout, with the cache's own records beside it.
    expect(await exists(join(proxy.root, paths.tagCurrentLink(`up.example/${repo}`, 'v1')))).toBe(true);
    expect(await exists(join(proxy.root, paths.proxyTagCheckedAt(`up.example/${repo}`, 'v1')))).toBe(true);
    for (const blob of image.blobs) expect(await exists(join(proxy.root, paths.layerLink(`up.example/${repo}`, blob.digest)))).toBe(true);
  });

  it('fetches a miss once however many clients ask at the same time', async () => {
    const repo = name();
    const image = await seed(repo, 'v1', buildImage({ layers: 1, layerSize: 2 * 1024 * 1024 }));
    const clients = 20;
    const manifests = await Promise.all(Array.from({ length: clients }, () => http.get(manifestPath(`up.example/${repo}`, 'v1'))));
    expect(manifests.every((r) => r.status === 200 && r.headers['docker-content-digest'] === image.manifest.digest)).toBe(true);
    const layer = image.blobs[1]!;
    const blobs = await Promise.all(Array.from({ length: clients }, () => http.get(blobPath(`up.example/${repo}`, layer.digest))));
    for (const r of blobs) {
      expect(r.status).toBe(200);
      expect(r.body.equals(layer.data)).toBe(true);
    }
    expect(hits(upstream, repo, 'manifest', 'GET')).toBe(1);
    expect(hits(upstream, repo, 'blob', 'GET')).toBe(1);
  });

  it('serves a fresh tag from the cache, re-checks a stale one with HEAD, and follows a moved tag', async () => {
    const repo = name();
    const first = await seed(repo);
    await http.get(manifestPath(`up.example/${repo}`, 'v1'));
    await http.get(manifestPath(`up.example/${repo}`, 'v1'));
    expect(hits(upstream, repo, 'manifest')).toBe(1);

    proxy.advance(TTL + 1);
    const again = await http.get(manifestPath(`up.example/${repo}`, 'v1'));
    expect(again.headers['docker-content-digest']).toBe(first.manifest.digest);
    expect(hits(upstream, repo, 'manifest', 'HEAD')).toBe(1);
    expect(hits(upstream, repo, 'manifest', 'GET')).toBe(1);
    // Confirmed: fresh again for another TTL.
    await http.get(manifestPath(`up.example/${repo}`, 'v1'));
    expect(hits(upstream, repo, 'manifest')).toBe(2);

    const second = await seed(repo, 'v1');
    proxy.advance(TTL + 1);
    const moved = await http.get(manifestPath(`up.example/${repo}`, 'v1'));
    expect(moved.headers['docker-content-digest']).toBe(second.manifest.digest);
    expect(moved.body.equals(second.manifest.body)).toBe(true);
    // The old manifest stays pullable by digest, from the cache.
    expect((await http.get(manifestPath(`up.example/${repo}`, first.manifest.digest))).status).toBe(200);

    // A tag deleted upstream is gone here too once it is re-checked.
    expect((await up.send('DELETE', manifestPath(repo, 'v1'))).status).toBe(202);
    proxy.advance(TTL + 1);
    expectError(await http.get(manifestPath(`up.example/${repo}`, 'v1')), 'MANIFEST_UNKNOWN');
  });

  it('passes the client request id upstream', async () => {
    const repo = name();
    const image = await seed(repo);
    await http.get(manifestPath(`up.example/${repo}`, 'v1'), { headers: { 'x-request-id': 'pull-42' } });
    await http.get(blobPath(`up.example/${repo}`, image.blobs[1]!.digest), { headers: { 'x-request-id': 'blob-43' } });
    expect(reads(upstream, repo).map((r) => r.requestId)).toEqual(['pull-42', 'blob-43', 'blob-43']);
  });

  it('serves cached content when the upstream is down, and 503 for what it never fetched', async () => {
    const repo = name();
    const image = await seed(repo);
    await http.get(manifestPath(`up.example/${repo}`, 'v1'));
    await http.get(blobPath(`up.example/${repo}`, image.blobs[1]!.digest));
    await upstream.stop();
    proxy.advance(TTL + 1);
    const stale = await http.get(manifestPath(`up.example/${repo}`, 'v1'));
    expect(stale.status).toBe(200);
    expect(stale.headers['docker-content-digest']).toBe(image.manifest.digest);
    expect(logger.warnings).toContain('serving a cached manifest: the upstream could not confirm it');
    expect((await http.get(blobPath(`up.example/${repo}`, image.blobs[1]!.digest))).body.equals(image.blobs[1]!.data)).toBe(true);
    const missing = expectError(await http.get(blobPath(`up.example/${repo}`, image.blobs[2]!.digest)), 'UNAVAILABLE');
    expect(missing.message).toContain(upstream.url);
    expectError(await http.get(manifestPath(`up.example/${name()}`, 'v1')), 'UNAVAILABLE');
  });

  it('answers 429 with the upstream Retry-After when nothing is cached, serves the cache when it is, and waits before asking again', async () => {
    const repo = name();
    const image = await seed(repo);
    const other = name();
    await seed(other);
    await http.get(manifestPath(`up.example/${repo}`, 'v1'));
    upstream.mode = 'throttle';
    proxy.advance(TTL + 1);
    const cached = await http.get(manifestPath(`up.example/${repo}`, 'v1'));
    expect(cached.status).toBe(200);
    expect(cached.headers['docker-content-digest']).toBe(image.manifest.digest);

    const refused = await http.get(manifestPath(`up.example/${other}`, 'v1'));
    expectError(refused, 'TOOMANYREQUESTS');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(7);
    const asked = upstream.requests.length;
    expectError(await http.get(manifestPath(`up.example/${other}`, 'v1')), 'TOOMANYREQUESTS');
    expect(upstream.requests.length).toBe(asked);

    upstream.mode = 'ok';
    proxy.advance(8_000);
    expect((await http.get(manifestPath(`up.example/${other}`, 'v1'))).status).toBe(200);
  });

  it('refuses pushes to proxied names, naming the upstream, and takes pushes to other names', async () => {
    const repo = `up.example/${name()}`;
    const image = buildImage();
    const post = expectError(await http.send('POST', uploadsPath(repo), { headers: { 'content-length': '0' } }), 'UNSUPPORTED');
    expect(post.message).toContain(upstream.url);
    expectError(
      await http.send('POST', uploadsPath(repo, `?digest=${image.blobs[0]!.digest}`), { body: image.blobs[0]!.data }),
      'UNSUPPORTED',
    );
    expectError(await http.send('POST', uploadsPath(repo, `?mount=${image.blobs[0]!.digest}&from=local/x`)), 'UNSUPPORTED');
    expectError(
      await http.send('PUT', manifestPath(repo, 'v1'), { headers: { 'content-type': image.manifest.mediaType }, body: image.manifest.body }),
      'UNSUPPORTED',
    );
    const local = `local/${name()}`;
    await pushImage(http, local, image, 'v1');
    expect((await http.get(manifestPath(local, 'v1'))).body.equals(image.manifest.body)).toBe(true);
    expect(upstream.requests.filter((r) => r.repo.endsWith(local))).toEqual([]);
  });

  it('stores nothing when the upstream sends a blob that does not match its digest', async () => {
    const repo = name();
    const image = await seed(repo);
    upstream.mode = 'corrupt';
    const layer = image.blobs[1]!;
    await expect(http.get(blobPath(`up.example/${repo}`, layer.digest))).rejects.toThrow();
    await sleep(50);
    expect(await exists(join(proxy.root, paths.blobData(layer.digest)))).toBe(false);
    expect(await exists(join(proxy.root, paths.layerLink(`up.example/${repo}`, layer.digest)))).toBe(false);
    upstream.mode = 'ok';
    expect((await http.get(blobPath(`up.example/${repo}`, layer.digest))).body.equals(layer.data)).toBe(true);
  });

  it('keeps filling the store when the client that started the fetch goes away', async () => {
    const repo = name();
    const image = await seed(repo, 'v1', buildImage({ layers: 1, layerSize: 1024 * 1024 }));
    const layer = image.blobs[1]!;
    upstream.mode = 'slow';
    const pool = new Pool(proxy.url);
    const abort = new AbortController();
    const res = await pool.request({ method: 'GET', path: blobPath(`up.example/${repo}`, layer.digest), signal: abort.signal });
    expect(res.statusCode).toBe(200);
    const second = http.get(blobPath(`up.example/${repo}`, layer.digest));
    for await (const _chunk of res.body) {
      abort.abort();
      break;
    }
    expect((await second).body.equals(layer.data)).toBe(true);
    const stored = join(proxy.root, paths.blobData(layer.digest));
    for (let i = 0; i < 200 && !(await exists(stored)); i++) await sleep(20);
    expect(await exists(stored)).toBe(true);
    expect(hits(upstream, repo, 'blob', 'GET')).toBe(1);
    await pool.close();
  });

  it('serves byte ranges of a blob it has not fetched yet', async () => {
    const repo = name();
    const image = await seed(repo);
    const layer = image.blobs[1]!;
    const res = await http.get(blobPath(`up.example/${repo}`, layer.digest), { headers: { range: 'bytes=10-19' } });
    expect(res.status).toBe(206);
    expect(res.body.equals(layer.data.subarray(10, 20))).toBe(true);
  });

  it('links a blob it already holds for another name after the upstream confirms it, without fetching it again', async () => {
    const a = name();
    const b = name();
    const image = await seed(a);
    await seed(b, 'v1', image);
    const layer = image.blobs[1]!;
    await http.get(blobPath(`up.example/${a}`, layer.digest));
    expect((await http.get(blobPath(`up.example/${b}`, layer.digest))).body.equals(layer.data)).toBe(true);
    expect(hits(upstream, b, 'blob', 'HEAD')).toBe(1);
    expect(hits(upstream, b, 'blob', 'GET')).toBe(0);
    // A blob the upstream does not have under that name is not served from another's cache.
    expectError(await http.get(blobPath(`up.example/${name()}`, layer.digest)), 'BLOB_UNKNOWN');
  });

  it('caches indexes and their child manifests by digest', async () => {
    const repo = name();
    const images = [buildImage(), buildImage()];
    for (const image of images) await pushImage(up, repo, image);
    const index = buildIndex(images.map((i) => i.manifest));
    await pushManifestOk(up, repo, 'multi', index);
    const got = await http.get(manifestPath(`up.example/${repo}`, 'multi'));
    expect(got.body.equals(index.body)).toBe(true);
    const child = await http.get(manifestPath(`up.example/${repo}`, images[1]!.manifest.digest));
    expect(child.body.equals(images[1]!.manifest.body)).toBe(true);
  });

  it('lists tags from the upstream, and from the cache while the upstream is down', async () => {
    const repo = name();
    await seed(repo, 'a');
    await seed(repo, 'b');
    await http.get(manifestPath(`up.example/${repo}`, 'a'));
    expect(JSON.parse((await http.get(`/v2/up.example/${repo}/tags/list`)).body.toString()).tags).toEqual(['a', 'b']);
    await upstream.stop();
    expect(JSON.parse((await http.get(`/v2/up.example/${repo}/tags/list`)).body.toString()).tags).toEqual(['a']);
  });

  it('keeps cached images through garbage collection, and expires them after cacheTtlMs', async () => {
    const repo = name();
    const image = await seed(repo);
    const local = `local/${name()}`;
    const pushed = buildImage();
    await pushImage(http, local, pushed, 'v1');
    await http.get(manifestPath(`up.example/${repo}`, 'v1'));
    for (const blob of image.blobs) await http.get(blobPath(`up.example/${repo}`, blob.digest));

    const kept = await proxy.registry.collectGarbage(GC);
    expect(kept.removed.blobs).toEqual([]);
    for (const blob of image.blobs) expect(await exists(join(proxy.root, paths.blobData(blob.digest)))).toBe(true);

    proxy.advance(10 * TTL + 1);
    const expired = await proxy.registry.collectGarbage(GC);
    const cachedDigests = [image.manifest.digest, ...image.blobs.map((b) => b.digest)];
    expect(expired.removed.blobs.map((b) => b.digest).sort()).toEqual(cachedDigests.sort());
    expect(await exists(join(proxy.root, paths.tagCurrentLink(`up.example/${repo}`, 'v1')))).toBe(false);
    // What was pushed here is not the cache's to expire.
    expect((await http.get(manifestPath(local, 'v1'))).status).toBe(200);
    for (const blob of pushed.blobs) expect(await exists(join(proxy.root, paths.blobData(blob.digest)))).toBe(true);
    // And the expired image comes back from the upstream on the next pull.
    expect((await http.get(manifestPath(`up.example/${repo}`, 'v1'))).status).toBe(200);
  });

  it('keeps a blob past its TTL while a cached manifest still references it', async () => {
    const repo = name();
    const image = await seed(repo);
    await http.get(manifestPath(`up.example/${repo}`, 'v1'));
    for (const blob of image.blobs) await http.get(blobPath(`up.example/${repo}`, blob.digest));
    proxy.advance(10 * TTL - 1000);
    // The tag is confirmed again just before the blobs' time is up, so its manifest still references them.
    await http.get(manifestPath(`up.example/${repo}`, 'v1'));
    proxy.advance(2000);
    const report = await proxy.registry.expireCache();
    expect(report).toEqual({ tags: 0, manifests: 0, blobs: 0 });
    await proxy.registry.collectGarbage(GC);
    for (const blob of image.blobs) expect(await exists(join(proxy.root, paths.blobData(blob.digest)))).toBe(true);
  });
});

describe('pull-through cache on storage that redirects blob GETs', () => {
  it('stores a missed blob before handing out the storage URL', async () => {
    const upstream = await startUpstream();
    const proxy = await startProxy([{ prefix: 'up.example', remoteUrl: upstream.url, ttlMs: TTL }], { redirect: true });
    const up = new RegistryHttp(upstream.url);
    const http = new RegistryHttp(proxy.url);
    try {
      const repo = name();
      const image = buildImage();
      await pushImage(up, repo, image, 'v1');
      const layer = image.blobs[1]!;
      const res = await http.get(blobPath(`up.example/${repo}`, layer.digest));
      expect(res.status).toBe(307);
      expect(res.headers.location).toContain(paths.blobData(layer.digest));
      expect(await exists(join(proxy.root, paths.blobData(layer.digest)))).toBe(true);
    } finally {
      await Promise.all([up.close(), http.close()]);
      await proxy.close();
      await upstream.stop();
    }
  });
});

describe('routing by name prefix', () => {
  let hub: TestUpstream;
  let ghcr: TestUpstream;
  let proxy: TestProxy;
  let http: RegistryHttp;

  beforeAll(async () => {
    [hub, ghcr] = await Promise.all([startUpstream(), startUpstream()]);
    proxy = await startProxy([
      { prefix: 'docker.io', remoteUrl: hub.url, ttlMs: TTL },
      { prefix: 'ghcr.io', remoteUrl: ghcr.url, ttlMs: TTL },
      { prefix: 'ghcr.io/special', remoteUrl: hub.url, ttlMs: TTL },
    ]);
    http = new RegistryHttp(proxy.url);
  });
  afterAll(async () => {
    await http.close();
    await proxy.close();
    await Promise.all([hub.stop(), ghcr.stop()]);
  });

  it('sends each name to its upstream, Docker Hub official images under library/, the longest prefix first', async () => {
    const hubHttp = new RegistryHttp(hub.url);
    const ghcrHttp = new RegistryHttp(ghcr.url);
    const alpine = buildImage();
    const app = buildImage();
    const special = buildImage();
    await pushImage(hubHttp, 'library/alpine', alpine, 'latest');
    await pushImage(ghcrHttp, 'owner/app', app, 'v1');
    await pushImage(hubHttp, 'tool', special, 'v1');
    expect((await http.get(manifestPath('docker.io/alpine', 'latest'))).body.equals(alpine.manifest.body)).toBe(true);
    expect((await http.get(manifestPath('docker.io/library/alpine', 'latest'))).body.equals(alpine.manifest.body)).toBe(true);
    expect((await http.get(manifestPath('ghcr.io/owner/app', 'v1'))).body.equals(app.manifest.body)).toBe(true);
    expect((await http.get(manifestPath('ghcr.io/special/tool', 'v1'))).body.equals(special.manifest.body)).toBe(true);
    expect(reads(ghcr).map((r) => r.repo)).toEqual(['owner/app']);
    await Promise.all([hubHttp.close(), ghcrHttp.close()]);
  });

  it('answers names no prefix claims from local storage only', async () => {
    expectError(await http.get(manifestPath('quay.io/x', 'v1')), 'MANIFEST_UNKNOWN');
    const blob = blobOf('local');
    expectError(await http.get(blobPath('other/x', blob.digest)), 'BLOB_UNKNOWN');
    expect([...hub.requests, ...ghcr.requests].some((r) => r.repo.includes('quay') || r.repo.includes('other'))).toBe(false);
  });
});
