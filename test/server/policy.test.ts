// Server policies: a read-only registry refuses every write; --no-delete refuses deletes of
// manifests and blobs (but still lets a client cancel its own upload).
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildImage, randomBlob, seedImage, uniqueRepo, type Image } from '../helpers/fixtures.js';
import {
  blobPath,
  expectError,
  expectResponse,
  finishUpload,
  json,
  manifestPath,
  monolithicPost,
  patchChunk,
  pushImage,
  putManifest,
  startUpload,
  uploadsPath,
  useRegistry,
  type HttpResponse,
  type RegistryContext,
} from '../helpers/http.js';
import { DRIVER_KINDS } from '../helpers/server.js';

describe.each(DRIVER_KINDS)('%s driver: read-only', (driver) => {
  const ctx = useRegistry(driver, { readOnly: true });
  const repo = uniqueRepo('readonly');
  let image: Image;

  beforeAll(async () => {
    image = buildImage();
    await seedImage(ctx.reg.driver, repo, 'latest', image);
  });

  const upload = () => uploadsPath(repo, randomUUID());
  const writes: { name: string; send: (c: RegistryContext) => Promise<HttpResponse> }[] = [
    { name: 'POST upload', send: (c) => c.http.send('POST', uploadsPath(repo)) },
    { name: 'POST monolithic', send: (c) => monolithicPost(c.http, repo, randomBlob(10)) },
    { name: 'POST mount', send: (c) => c.http.send('POST', uploadsPath(uniqueRepo('readonly'), `?mount=${image.blobs[0]!.digest}&from=${repo}`)) },
    { name: 'PATCH upload', send: (c) => patchChunk(c.http, upload(), Buffer.from('x')) },
    { name: 'PUT upload', send: (c) => finishUpload(c.http, upload(), randomBlob(1).digest, Buffer.from('x')) },
    { name: 'DELETE upload', send: (c) => c.http.send('DELETE', upload()) },
    { name: 'PUT manifest (new tag)', send: (c) => putManifest(c.http, repo, 'other', image.manifest) },
    { name: 'PUT manifest (new repository)', send: (c) => putManifest(c.http, uniqueRepo('readonly'), 'x', image.manifest) },
    { name: 'DELETE manifest by tag', send: (c) => c.http.send('DELETE', manifestPath(repo, 'latest')) },
    { name: 'DELETE manifest by digest', send: (c) => c.http.send('DELETE', manifestPath(repo, image.manifest.digest)) },
    { name: 'DELETE blob', send: (c) => c.http.send('DELETE', blobPath(repo, image.blobs[1]!.digest)) },
  ];
  it.each(writes)('$name → 405 UNSUPPORTED', async ({ send }) => {
    expectError(await send(ctx), 'UNSUPPORTED');
  });

  const reads: { name: string; send: (c: RegistryContext) => Promise<HttpResponse>; status: number }[] = [
    { name: 'version check', send: (c) => c.http.get('/v2/'), status: 200 },
    { name: 'manifest GET by tag', send: (c) => c.http.get(manifestPath(repo, 'latest')), status: 200 },
    { name: 'manifest HEAD by digest', send: (c) => c.http.head(manifestPath(repo, image.manifest.digest)), status: 200 },
    { name: 'blob GET', send: (c) => c.http.get(blobPath(repo, image.blobs[1]!.digest)), status: 200 },
    { name: 'tags list', send: (c) => c.http.get(`/v2/${repo}/tags/list`), status: 200 },
    { name: 'catalog', send: (c) => c.http.get('/v2/_catalog'), status: 200 },
    { name: 'referrers', send: (c) => c.http.get(`/v2/${repo}/referrers/${image.manifest.digest}`), status: 200 },
    { name: 'unknown manifest', send: (c) => c.http.get(manifestPath(repo, 'nope')), status: 404 },
  ];
  it.each(reads)('$name still works ($status)', async ({ send, status }) => {
    expectResponse(await send(ctx), { status });
  });

  it('every write left the store as it was', async () => {
    for (const w of writes) await w.send(ctx);
    const manifest = await ctx.http.get(manifestPath(repo, 'latest'));
    expectResponse(manifest, { status: 200, headers: { 'docker-content-digest': image.manifest.digest } });
    expect(json(await ctx.http.get(`/v2/${repo}/tags/list`))).toEqual({ name: repo, tags: ['latest'] });
    expect(json(await ctx.http.get('/v2/_catalog'))).toEqual({ repositories: [repo] });
  });
});

describe.each(DRIVER_KINDS)('%s driver: deletes disabled', (driver) => {
  const ctx = useRegistry(driver, { deleteEnabled: false });
  const repo = uniqueRepo('nodelete');
  let image: Image;

  beforeAll(async () => {
    image = buildImage();
    await pushImage(ctx.http, repo, image, 'latest');
  });

  const deletes: { name: string; path: () => string }[] = [
    { name: 'manifest by tag', path: () => manifestPath(repo, 'latest') },
    { name: 'manifest by digest', path: () => manifestPath(repo, image.manifest.digest) },
    { name: 'blob', path: () => blobPath(repo, image.blobs[1]!.digest) },
  ];
  it.each(deletes)('DELETE $name → 405 UNSUPPORTED, and it is still there', async ({ path }) => {
    expectError(await ctx.http.send('DELETE', path()), 'UNSUPPORTED');
    expectResponse(await ctx.http.head(path()), { status: 200 });
  });

  it('cancelling an upload still works (204)', async () => {
    const { location } = await startUpload(ctx.http, repo);
    expectResponse(await ctx.http.send('DELETE', location), { status: 204 });
    expectError(await ctx.http.get(location), 'BLOB_UPLOAD_UNKNOWN');
  });

  it('other writes still work', async () => {
    const other = buildImage();
    await pushImage(ctx.http, repo, other, 'second');
    expectResponse(await ctx.http.get(manifestPath(repo, 'second')), { status: 200, headers: { 'docker-content-digest': other.manifest.digest } });
  });
});
