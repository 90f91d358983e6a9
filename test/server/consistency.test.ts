// Store consistency under abuse: clients that disconnect mid-body, concurrent writers of the same
// blob or tag, and paths that try to step outside a repository or the root. (Resuming an upload
// across a restart is restart.test.ts.)
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { blobOf, buildImage, randomBlob, sha256, uniqueRepo, type Blob, type Image } from '../helpers/fixtures.js';
import {
  OCTET,
  type RegistryHttp,
  blobPath,
  expectError,
  expectResponse,
  finishUpload,
  json,
  manifestPath,
  monolithicPost,
  patchChunk,
  pushBlob,
  pushImage,
  putManifest,
  sleep,
  startUpload,
  uploadsPath,
  useRegistry,
  withDigest,
  type HttpResponse,
} from '../helpers/http.js';
import { DRIVER_KINDS } from '../helpers/server.js';

/**
 * Sends half of `data` as the body, then drops the connection: the server sees a request that
 * never completes. Resolves once the client side has given up.
 */
async function sendHalfThenDisconnect(http: RegistryHttp, method: string, path: string, data: Buffer, headers: Record<string, string>): Promise<void> {
  const body = new PassThrough();
  const controller = new AbortController();
  const pending = http.send(method, path, { headers: { ...OCTET, ...headers }, body, signal: controller.signal });
  body.write(data.subarray(0, data.length >> 1));
  await sleep(100);
  controller.abort();
  body.destroy();
  await expect(pending, `${method} ${path} should not have completed`).rejects.toThrow();
}

/** The server notices a disconnect asynchronously; give it a bounded while to settle. */
async function settledUploadRange(http: RegistryHttp, location: string, expected: string): Promise<HttpResponse> {
  let res = await http.get(location);
  for (let i = 0; i < 40 && (res.status !== 204 || res.headers.range !== expected); i++) {
    await sleep(50);
    res = await http.get(location);
  }
  return res;
}

describe.each(DRIVER_KINDS)('%s driver: consistency', (driver) => {
  const ctx = useRegistry(driver);

  describe('a client that disconnects mid-body', () => {
    const repo = uniqueRepo('abort');
    const PREFIX = 100_000;
    const REST = 400_000;

    const chunked: { name: string; send: (location: string, rest: Buffer, blob: Blob) => Promise<void> }[] = [
      {
        name: 'PATCH with Content-Range and Content-Length',
        send: (location, rest) =>
          sendHalfThenDisconnect(ctx.http, 'PATCH', location, rest, {
            'content-range': `${PREFIX}-${PREFIX + rest.length - 1}`,
            'content-length': String(rest.length),
          }),
      },
      { name: 'PATCH streamed without a length', send: (location, rest) => sendHalfThenDisconnect(ctx.http, 'PATCH', location, rest, {}) },
      {
        name: 'closing PUT with the last chunk',
        send: (location, rest, blob) => sendHalfThenDisconnect(ctx.http, 'PUT', withDigest(location, blob.digest), rest, { 'content-length': String(rest.length) }),
      },
    ];
    it.each(chunked)('$name: the upload stays at its previous offset, no blob appears, and it resumes', async ({ send }) => {
      const blob = randomBlob(PREFIX + REST);
      const [prefix, rest] = [blob.data.subarray(0, PREFIX), blob.data.subarray(PREFIX)];
      const { location } = await startUpload(ctx.http, repo);
      const next = ctx.http.location(await patchChunk(ctx.http, location, prefix, { start: 0 }));

      await send(next, rest, blob);

      const expected = `0-${PREFIX - 1}`;
      expectResponse(await settledUploadRange(ctx.http, next, expected), { status: 204, headers: { range: expected } });
      const half = blobOf(blob.data.subarray(0, PREFIX + (REST >> 1)));
      for (const digest of [blob.digest, half.digest]) expectError(await ctx.http.get(blobPath(repo, digest)), 'BLOB_UNKNOWN');

      expectResponse(await patchChunk(ctx.http, next, rest, { start: PREFIX }), { status: 202, headers: { range: `0-${blob.size - 1}` } });
      expectResponse(await finishUpload(ctx.http, next, blob.digest), { status: 201 });
      const served = await ctx.http.get(blobPath(repo, blob.digest));
      expect(served.body.equals(blob.data)).toBe(true);
    });

    it('monolithic POST: no blob appears', async () => {
      const blob = randomBlob(REST);
      await sendHalfThenDisconnect(ctx.http, 'POST', uploadsPath(repo, `?digest=${blob.digest}`), blob.data, { 'content-length': String(blob.size) });
      await sleep(100);
      expectError(await ctx.http.get(blobPath(repo, blob.digest)), 'BLOB_UNKNOWN');
      await pushBlob(ctx.http, repo, blob);
    });
  });

  describe('concurrent writers', () => {
    it('8 uploads of the same blob at once (monolithic, POST+PUT, chunked) all succeed', async () => {
      const repo = uniqueRepo('race');
      const blob = randomBlob(1 << 20);
      const third = blob.size / 4;
      const ways: ((r: string) => Promise<HttpResponse>)[] = [
        (r) => monolithicPost(ctx.http, r, blob),
        async (r) => finishUpload(ctx.http, (await startUpload(ctx.http, r)).location, blob.digest, blob.data),
        async (r) => {
          const { location } = await startUpload(ctx.http, r);
          const next = ctx.http.location(await patchChunk(ctx.http, location, blob.data.subarray(0, third), { start: 0 }));
          return finishUpload(ctx.http, next, blob.digest, blob.data.subarray(third));
        },
      ];
      // Half in one repository, half in their own, so both the shared blob and the links race.
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => ways[i % ways.length]!(i % 2 ? repo : `${repo}-${i}`)));
      for (const res of results) expectResponse(res, { status: 201, headers: { 'docker-content-digest': blob.digest } });
      for (const r of [repo, ...[0, 2, 4, 6].map((i) => `${repo}-${i}`)]) {
        const res = await ctx.http.get(blobPath(r, blob.digest));
        expectResponse(res, { status: 200, headers: { 'content-length': String(blob.size) } });
        expect(sha256(res.body)).toBe(blob.digest);
      }
    });

    it('8 different manifests PUT to one tag at once leave the tag on exactly one of them', async () => {
      const repo = uniqueRepo('race');
      const images: Image[] = Array.from({ length: 8 }, () => buildImage({ layers: 1, layerSize: 64 }));
      for (const image of images) await pushImage(ctx.http, repo, image);
      const digests = images.map((i) => i.manifest.digest);

      for (let round = 0; round < 3; round++) {
        const results = await Promise.all(images.map((i) => putManifest(ctx.http, repo, 'contended', i.manifest)));
        for (const res of results) expectResponse(res, { status: 201 });

        const got = await ctx.http.get(manifestPath(repo, 'contended'));
        expectResponse(got, { status: 200 });
        expect(digests).toContain(got.headers['docker-content-digest']);
        expect(sha256(got.body)).toBe(got.headers['docker-content-digest']);
        const head = await ctx.http.head(manifestPath(repo, 'contended'));
        expect(head.headers['docker-content-digest']).toBe(got.headers['docker-content-digest']);
        expect(json(await ctx.http.get(`/v2/${repo}/tags/list`))).toEqual({ name: repo, tags: ['contended'] });
      }
      for (const image of images) expectResponse(await ctx.http.head(manifestPath(repo, image.manifest.digest)), { status: 200 });
    });

    it('one manifest PUT to 8 tags at once: every tag exists', async () => {
      const repo = uniqueRepo('race');
      const image = buildImage({ layers: 1 });
      await pushImage(ctx.http, repo, image);
      const tags = Array.from({ length: 8 }, (_, i) => `t${i}`);
      const results = await Promise.all(tags.map((t) => putManifest(ctx.http, repo, t, image.manifest)));
      for (const res of results) expectResponse(res, { status: 201 });
      expect(json(await ctx.http.get(`/v2/${repo}/tags/list`))).toEqual({ name: repo, tags });
    });
  });

  describe('path tricks never reach outside the named repository', () => {
    const victim = uniqueRepo('victim');
    const attacker = uniqueRepo('attacker');
    let image: Image;

    beforeAll(async () => {
      image = buildImage({ layers: 1 });
      await pushImage(ctx.http, victim, image, 'latest');
      await pushImage(ctx.http, attacker, buildImage({ layers: 1 }), 'latest');
    });

    const up = attacker.split('/').map(() => '..');
    const reads: ((d: string) => string)[] = [
      () => `/v2/${attacker}/../../${victim}/manifests/latest`,
      () => `/v2/${attacker}/${up.map(() => '%2e%2e').join('/')}/${victim}/manifests/latest`,
      () => `/v2/${attacker}/${up.map(() => '%2E%2E').join('/')}/${victim}/tags/list`,
      () => `/v2/${attacker}%2f..%2f..%2f${victim}/manifests/latest`,
      () => `/v2/${attacker}%2F%2e%2e%2F%2e%2e%2F${victim}/tags/list`,
      () => `/v2/${victim}/manifests/..%2flatest`,
      () => `/v2/${victim}/manifests/.%2e%2flatest`,
      (d) => `/v2/${attacker}/../../${victim}/blobs/${d}`,
      (d) => `/v2/${attacker}/%2e%2e/%2e%2e/${victim}/blobs/${d}`,
      () => `/v2/${victim}/blobs/sha256:..%2f..%2f..%2f..%2fetc%2fpasswd`,
      () => `/v2/${victim}/blobs/uploads/..%2f..%2f_layers`,
      () => `/v2/${victim}/_manifests/tags/list`,
      () => `/v2/${victim}/_layers/tags/list`,
      () => '/v2/%2e%2e/%2e%2e/%2e%2e/tags/list',
      () => '/v2/../../../../etc/passwd',
      (d) => `/v2/${attacker}/../../${victim}/referrers/${d}`,
    ];
    it.each(reads.map((path, i) => ({ i, path })))('read #$i → 400 or 404', async ({ path }) => {
      const res = await ctx.http.get(path(image.blobs[1]!.digest));
      expect([400, 404], `${res.request} → ${res.status} ${res.body.toString('utf8').slice(0, 200)}`).toContain(res.status);
    });

    it('writes through tricky names or tags create nothing, inside the root or beside it', async () => {
      const marker = `evil${randomBytes(4).toString('hex')}`;
      const blob = randomBlob(32);
      const writes: (() => Promise<HttpResponse>)[] = [
        () => putManifest(ctx.http, `${attacker}/../../${marker}`, 'latest', image.manifest),
        () => putManifest(ctx.http, `${attacker}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/${marker}`, 'latest', image.manifest),
        () => putManifest(ctx.http, `${attacker}%2f..%2f..%2f${marker}`, 'latest', image.manifest),
        () => putManifest(ctx.http, attacker, `..%2f..%2f..%2f${marker}`, image.manifest),
        () => putManifest(ctx.http, attacker, `%2e%2e%2f%2e%2e%2f${marker}`, image.manifest),
        () => ctx.http.send('POST', uploadsPath(`${attacker}/%2e%2e/%2e%2e/%2e%2e/${marker}`)),
        () => monolithicPost(ctx.http, `${attacker}/../../../${marker}`, blob),
        () => ctx.http.send('PATCH', uploadsPath(attacker, `..%2f..%2f..%2f${marker}`), { headers: OCTET, body: 'x' }),
      ];
      for (const write of writes) {
        const res = await write();
        expect([400, 404], `${res.request} → ${res.status} ${res.body.toString('utf8').slice(0, 200)}`).toContain(res.status);
      }
      const { repositories } = json<{ repositories: string[] }>(await ctx.http.get('/v2/_catalog'));
      expect(repositories.filter((r) => r.includes(marker))).toEqual([]);
      if (ctx.reg.root) {
        expect(await findNamed(ctx.reg.root, marker)).toEqual([]);
        expect(existsSync(join(dirname(ctx.reg.root), marker))).toBe(false);
      }
    });
  });
});

/** Every path under `dir` whose last component contains `needle`. */
async function findNamed(dir: string, needle: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.filter((e) => e.split('/').at(-1)!.includes(needle));
}
