// Blob uploads: POST (end-4a/4b), PATCH (end-5), PUT (end-6), status GET (end-13), cancel (end-14)
// and cross-repository mount (end-11).
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { absentDigest, blobOf, randomBlob, uniqueRepo, type Blob } from '../helpers/fixtures.js';
import {
  blobPath,
  expectError,
  expectResponse,
  finishUpload,
  monolithicPost,
  patchChunk,
  pushBlob,
  startUpload,
  uploadsPath,
  useRegistry,
  type HttpResponse,
  type RegistryContext,
} from '../helpers/http.js';
import { DRIVER_KINDS } from '../helpers/server.js';

const UUID = '[0-9a-fA-F-]{36}';

async function expectBlob(ctx: RegistryContext, repo: string, blob: Blob): Promise<void> {
  const res = await ctx.http.get(blobPath(repo, blob.digest));
  expectResponse(res, { status: 200, headers: { 'docker-content-digest': blob.digest, 'content-length': String(blob.size) } });
  expect(res.body.equals(blob.data), `${res.request}: body`).toBe(true);
}

/** A 201 that points at the pullable blob. */
function expectCreated(ctx: RegistryContext, res: HttpResponse, repo: string, blob: Blob): void {
  expectResponse(res, { status: 201, headers: { 'docker-content-digest': blob.digest } });
  expect(ctx.http.location(res)).toBe(blobPath(repo, blob.digest));
}

/**
 * A live upload session whose Range ends at `size - 1`: a 202 (POST, PATCH) also carries
 * Docker-Upload-UUID; a status GET is a 204 with Range and Location.
 */
function expectSession(ctx: RegistryContext, res: HttpResponse, repo: string, size: number, status = 202): string {
  const range = size === 0 ? '0-0' : `0-${size - 1}`;
  const uuidHeader: Record<string, RegExp> = status === 202 ? { 'docker-upload-uuid': new RegExp(`^${UUID}$`) } : {};
  expectResponse(res, { status, headers: { range, ...uuidHeader } });
  const location = ctx.http.location(res);
  const m = new RegExp(`^/v2/${repo}/blobs/uploads/(${UUID})(\\?.*)?$`).exec(location);
  expect(m, `${res.request}: Location ${location}`).not.toBeNull();
  if (status === 202) expect(m![1]).toBe(res.headers['docker-upload-uuid']);
  return location;
}

describe.each(DRIVER_KINDS)('%s driver: uploads', (driver) => {
  const ctx = useRegistry(driver);
  const repo = uniqueRepo('uploads');

  describe('POST', () => {
    it('opens a session: 202, relative Location with the UUID, Range 0-0, Content-Length 0', async () => {
      const { res } = await startUpload(ctx.http, repo);
      const location = expectSession(ctx, res, repo, 0);
      expect(res.headers.location!.startsWith('/v2/')).toBe(true);
      expect(res.headers['content-length']).toBe('0');
      expectSession(ctx, await ctx.http.get(location), repo, 0, 204);
    });

    it('?digest= with the body stores the blob in one request (201)', async () => {
      const blob = randomBlob(4096);
      expectCreated(ctx, await monolithicPost(ctx.http, repo, blob), repo, blob);
      await expectBlob(ctx, repo, blob);
    });

    it('?digest= with an empty body stores the empty blob', async () => {
      const empty = blobOf(Buffer.alloc(0));
      expectCreated(ctx, await monolithicPost(ctx.http, repo, empty), repo, empty);
      await expectBlob(ctx, repo, empty);
    });

    const refused: { name: string; digest: () => string }[] = [
      { name: 'a digest of other content', digest: absentDigest },
      { name: 'a digest with bad syntax', digest: () => 'sha256:zz' },
      { name: 'an unknown algorithm', digest: () => `md5:${'a'.repeat(32)}` },
    ];
    it.each(refused)('?digest= with $name → 400 DIGEST_INVALID, nothing stored', async ({ digest }) => {
      const blob = randomBlob(100);
      expectError(await monolithicPost(ctx.http, repo, blob, digest()), 'DIGEST_INVALID');
      expectError(await ctx.http.get(blobPath(repo, blob.digest)), 'BLOB_UNKNOWN');
    });

    it('to an invalid repository name → 400 NAME_INVALID', async () => {
      expectError(await ctx.http.send('POST', uploadsPath('Bad/Name')), 'NAME_INVALID');
    });
  });

  describe('POST then PUT', () => {
    it('PUT ?digest= with the whole body → 201', async () => {
      const blob = randomBlob(10_000);
      const { location } = await startUpload(ctx.http, repo);
      expectCreated(ctx, await finishUpload(ctx.http, location, blob.digest, blob.data), repo, blob);
      await expectBlob(ctx, repo, blob);
    });
  });

  describe('chunked', () => {
    it('PATCH with Content-Range, PATCH without, status GET, PUT with a last chunk', async () => {
      const blob = randomBlob(30_000);
      const [a, b, c] = [blob.data.subarray(0, 10_000), blob.data.subarray(10_000, 25_000), blob.data.subarray(25_000)];
      const { location } = await startUpload(ctx.http, repo);

      const first = await patchChunk(ctx.http, location, a, { start: 0 });
      const afterFirst = expectSession(ctx, first, repo, 10_000);
      const second = await patchChunk(ctx.http, afterFirst, b);
      const afterSecond = expectSession(ctx, second, repo, 25_000);

      const status = await ctx.http.get(afterSecond);
      expectSession(ctx, status, repo, 25_000, 204);
      expect(status.body.length).toBe(0);

      expectCreated(ctx, await finishUpload(ctx.http, afterSecond, blob.digest, c), repo, blob);
      await expectBlob(ctx, repo, blob);
    });

    it('PUT without a body completes what the PATCHes sent', async () => {
      const blob = randomBlob(5000);
      const { location } = await startUpload(ctx.http, repo);
      const patched = expectSession(ctx, await patchChunk(ctx.http, location, blob.data, { start: 0 }), repo, 5000);
      expectCreated(ctx, await finishUpload(ctx.http, patched, blob.digest), repo, blob);
      await expectBlob(ctx, repo, blob);
    });

    const outOfOrder: { name: string; start: (size: number) => number }[] = [
      { name: 'skips ahead', start: (size) => size + 1 },
      { name: 'rewinds', start: () => 0 },
      { name: 'overlaps the last byte', start: (size) => size - 1 },
    ];
    it.each(outOfOrder)('a chunk that $name → 416 BLOB_UPLOAD_INVALID, offset unchanged', async ({ start }) => {
      const blob = randomBlob(2000);
      const { location } = await startUpload(ctx.http, repo);
      const next = expectSession(ctx, await patchChunk(ctx.http, location, blob.data.subarray(0, 1000), { start: 0 }), repo, 1000);

      expectError(await patchChunk(ctx.http, next, blob.data.subarray(1000), { start: start(1000) }), 'BLOB_UPLOAD_INVALID', 416);
      expectSession(ctx, await ctx.http.get(next), repo, 1000, 204);

      expectSession(ctx, await patchChunk(ctx.http, next, blob.data.subarray(1000), { start: 1000 }), repo, 2000);
      expectCreated(ctx, await finishUpload(ctx.http, next, blob.digest), repo, blob);
    });

    it('PUT with the wrong digest → 400 DIGEST_INVALID, and no blob appears', async () => {
      const blob = randomBlob(700);
      const { location } = await startUpload(ctx.http, repo);
      const wrong = absentDigest();
      expectError(await finishUpload(ctx.http, location, wrong, blob.data), 'DIGEST_INVALID');
      expectError(await ctx.http.get(blobPath(repo, wrong)), 'BLOB_UNKNOWN');
      expectError(await ctx.http.get(blobPath(repo, blob.digest)), 'BLOB_UNKNOWN');
    });

    it.each(['sha256:short', 'sha256', 'not a digest'])('PUT with digest %j → 400 DIGEST_INVALID', async (digest) => {
      const { location } = await startUpload(ctx.http, repo);
      expectError(await finishUpload(ctx.http, location, digest, Buffer.from('x')), 'DIGEST_INVALID');
    });

    it('PUT without ?digest= → 400 DIGEST_INVALID', async () => {
      const { location } = await startUpload(ctx.http, repo);
      expectError(await ctx.http.send('PUT', location, { headers: { 'content-type': 'application/octet-stream' }, body: 'x' }), 'DIGEST_INVALID');
    });

    it('a finished upload is gone: status GET → 404 BLOB_UPLOAD_UNKNOWN', async () => {
      const blob = randomBlob(10);
      const { location } = await startUpload(ctx.http, repo);
      expectResponse(await finishUpload(ctx.http, location, blob.digest, blob.data), { status: 201 });
      expectError(await ctx.http.get(location), 'BLOB_UPLOAD_UNKNOWN');
    });
  });

  describe('cancel and unknown sessions', () => {
    it('DELETE → 204; afterwards the session is unknown', async () => {
      const { location } = await startUpload(ctx.http, repo);
      expectSession(ctx, await patchChunk(ctx.http, location, Buffer.from('partial'), { start: 0 }), repo, 7);
      expectResponse(await ctx.http.send('DELETE', location), { status: 204 });
      expectError(await ctx.http.get(location), 'BLOB_UPLOAD_UNKNOWN');
      expectError(await patchChunk(ctx.http, location, Buffer.from('more')), 'BLOB_UPLOAD_UNKNOWN');
      expectError(await finishUpload(ctx.http, location, blobOf('partial').digest), 'BLOB_UPLOAD_UNKNOWN');
    });

    // A session belongs to the repository it was opened in; asking through another name must not find it.
    let foreign: string;
    beforeAll(async () => {
      const { location } = await startUpload(ctx.http, repo);
      foreign = location.replace(`/v2/${repo}/`, `/v2/${uniqueRepo('uploads')}/`);
    });
    const sessions: { name: string; path: () => string }[] = [
      { name: 'a random UUID', path: () => uploadsPath(repo, randomUUID()) },
      { name: 'a malformed id', path: () => uploadsPath(repo, 'not-a-uuid') },
      { name: "another repository's UUID", path: () => foreign },
    ];
    const verbs: { verb: string; send: (path: string) => Promise<HttpResponse> }[] = [
      { verb: 'GET', send: (path) => ctx.http.get(path) },
      { verb: 'PATCH', send: (path) => patchChunk(ctx.http, path, Buffer.from('abc')) },
      { verb: 'PUT', send: (path) => finishUpload(ctx.http, path, blobOf('abc').digest, Buffer.from('abc')) },
      { verb: 'DELETE', send: (path) => ctx.http.send('DELETE', path) },
    ];
    const table = sessions.flatMap((s) => verbs.map((v) => ({ ...s, ...v })));
    it.each(table)('$verb on $name → 404 BLOB_UPLOAD_UNKNOWN', async ({ path, send }) => {
      expectError(await send(path()), 'BLOB_UPLOAD_UNKNOWN');
    });
  });

  describe('mount', () => {
    const source = uniqueRepo('mount-src');
    const elsewhere = uniqueRepo('mount-other');
    let shared: Blob;
    let onlyElsewhere: Blob;

    beforeAll(async () => {
      shared = randomBlob(3000);
      onlyElsewhere = randomBlob(3000);
      await pushBlob(ctx.http, source, shared);
      await pushBlob(ctx.http, elsewhere, onlyElsewhere);
    });

    const mount = (target: string, digest: string, from?: string) =>
      ctx.http.send('POST', uploadsPath(target, `?mount=${encodeURIComponent(digest)}${from ? `&from=${encodeURIComponent(from)}` : ''}`));

    it('?mount=&from= where the blob is in from → 201 and the blob is served in the target', async () => {
      const target = uniqueRepo('mount-dst');
      expectCreated(ctx, await mount(target, shared.digest, source), target, shared);
      await expectBlob(ctx, target, shared);
    });

    it('?mount= without from, blob elsewhere in the registry → 201', async () => {
      const target = uniqueRepo('mount-dst');
      expectCreated(ctx, await mount(target, onlyElsewhere.digest), target, onlyElsewhere);
      await expectBlob(ctx, target, onlyElsewhere);
    });

    const fallbacks: { name: string; digest: () => string; from?: () => string }[] = [
      { name: 'the blob is not in from (but is elsewhere)', digest: () => onlyElsewhere.digest, from: () => source },
      { name: 'the blob is nowhere', digest: absentDigest, from: () => source },
      { name: 'from does not exist', digest: () => shared.digest, from: () => uniqueRepo('nobody') },
      { name: 'no from and the blob is nowhere', digest: absentDigest },
    ];
    it('falls back to a new upload (202) once the blob was deleted from from', async () => {
      const gone = randomBlob(100);
      const from = uniqueRepo('mount-src');
      await pushBlob(ctx.http, from, gone);
      expectResponse(await ctx.http.send('DELETE', blobPath(from, gone.digest)), { status: 202 });
      const target = uniqueRepo('mount-dst');
      expectSession(ctx, await mount(target, gone.digest, from), target, 0);
    });

    it.each(fallbacks)('falls back to a new upload (202) when $name', async ({ digest, from }) => {
      const target = uniqueRepo('mount-dst');
      const res = await mount(target, digest(), from?.());
      const location = expectSession(ctx, res, target, 0);
      expectError(await ctx.http.get(blobPath(target, digest())), 'BLOB_UNKNOWN');

      const blob = randomBlob(64);
      expectCreated(ctx, await finishUpload(ctx.http, location, blob.digest, blob.data), target, blob);
    });
  });
});
