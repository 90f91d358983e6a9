// Blob GET/HEAD (end-2) with byte ranges, repository scoping, and DELETE (end-10).
import { beforeAll, describe, expect, it } from 'vitest';
import { absentDigest, randomBlob, uniqueRepo, type Blob } from '../helpers/fixtures.js';
import { blobPath, expectError, expectResponse, pushBlob, useRegistry } from '../helpers/http.js';
import { DRIVER_KINDS } from '../helpers/server.js';

describe.each(DRIVER_KINDS)('%s driver: blobs', (driver) => {
  const ctx = useRegistry(driver);
  const repo = uniqueRepo('blobs');
  const other = uniqueRepo('blobs');
  const SIZE = 64 * 1024;
  let blob: Blob;
  let otherBlob: Blob;

  beforeAll(async () => {
    blob = randomBlob(SIZE);
    otherBlob = randomBlob(512);
    await pushBlob(ctx.http, repo, blob);
    await pushBlob(ctx.http, other, otherBlob);
  });

  it('GET returns the bytes with length, digest and Accept-Ranges', async () => {
    const res = await ctx.http.get(blobPath(repo, blob.digest));
    expectResponse(res, {
      status: 200,
      headers: { 'content-length': String(SIZE), 'docker-content-digest': blob.digest, 'accept-ranges': 'bytes' },
    });
    expect(res.body.equals(blob.data)).toBe(true);
  });

  it('HEAD returns the same headers and no body', async () => {
    const res = await ctx.http.head(blobPath(repo, blob.digest));
    expectResponse(res, {
      status: 200,
      headers: { 'content-length': String(SIZE), 'docker-content-digest': blob.digest, 'accept-ranges': 'bytes' },
    });
    expect(res.body.length).toBe(0);
  });

  // RFC 9110 §14: inclusive ranges, an open end, a suffix, and a last position past the end
  // (which the server must clamp to the blob's last byte).
  const ranges: { range: string; start: number; end: number }[] = [
    { range: 'bytes=0-0', start: 0, end: 0 },
    { range: 'bytes=0-9', start: 0, end: 9 },
    { range: 'bytes=1000-4095', start: 1000, end: 4095 },
    { range: `bytes=${SIZE - 1}-${SIZE - 1}`, start: SIZE - 1, end: SIZE - 1 },
    { range: 'bytes=60000-', start: 60000, end: SIZE - 1 },
    { range: 'bytes=-100', start: SIZE - 100, end: SIZE - 1 },
    { range: `bytes=100-${SIZE * 4}`, start: 100, end: SIZE - 1 },
  ];
  it.each(ranges)('Range $range → 206 with the slice', async ({ range, start, end }) => {
    const res = await ctx.http.get(blobPath(repo, blob.digest), { headers: { range } });
    expectResponse(res, {
      status: 206,
      headers: { 'content-range': `bytes ${start}-${end}/${SIZE}`, 'content-length': String(end - start + 1) },
    });
    expect(res.body.equals(blob.data.subarray(start, end + 1))).toBe(true);
  });

  // RFC 9110 §15.5.17: a 416 SHOULD say the current length in `Content-Range: bytes */<size>`.
  it.each([`bytes=${SIZE}-`, `bytes=${SIZE + 10}-${SIZE + 20}`])('Range %s → 416', async (range) => {
    const res = await ctx.http.get(blobPath(repo, blob.digest), { headers: { range } });
    expectResponse(res, { status: 416, headers: { 'content-range': `bytes */${SIZE}` } });
  });

  // RFC 9110 §14.2: "An origin server MUST ignore a Range header field that contains a range unit it
  // does not understand", so the whole blob comes back.
  it('Range in a unit other than bytes is ignored → 200 with the whole blob', async () => {
    const res = await ctx.http.get(blobPath(repo, blob.digest), { headers: { range: 'items=0-5' } });
    expectResponse(res, { status: 200, headers: { 'content-length': String(SIZE) } });
    expect(res.body.equals(blob.data)).toBe(true);
  });

  const misses: { name: string; path: () => string }[] = [
    { name: 'a digest pushed nowhere', path: () => blobPath(repo, absentDigest()) },
    { name: 'a blob pushed only to another repository', path: () => blobPath(repo, otherBlob.digest) },
    { name: 'a blob of this repository asked for in another', path: () => blobPath(other, blob.digest) },
  ];
  it.each(misses)('GET $name → 404 BLOB_UNKNOWN', async ({ path }) => {
    expectError(await ctx.http.get(path()), 'BLOB_UNKNOWN');
  });
  it.each(misses)('HEAD $name → 404 without a body', async ({ path }) => {
    const res = await ctx.http.head(path());
    expectResponse(res, { status: 404 });
    expect(res.body.length).toBe(0);
  });

  it('GET with a malformed digest → 400 DIGEST_INVALID', async () => {
    expectError(await ctx.http.get(blobPath(repo, 'sha256:not-hex')), 'DIGEST_INVALID');
  });

  it('DELETE → 202: gone here, still served where else it was pushed, and can be pushed again', async () => {
    const shared = randomBlob(300);
    const a = uniqueRepo('blobs');
    const b = uniqueRepo('blobs');
    await pushBlob(ctx.http, a, shared);
    await pushBlob(ctx.http, b, shared);

    expectResponse(await ctx.http.send('DELETE', blobPath(a, shared.digest)), { status: 202 });
    expectError(await ctx.http.get(blobPath(a, shared.digest)), 'BLOB_UNKNOWN');
    expectResponse(await ctx.http.head(blobPath(a, shared.digest)), { status: 404 });
    expectError(await ctx.http.send('DELETE', blobPath(a, shared.digest)), 'BLOB_UNKNOWN');

    const still = await ctx.http.get(blobPath(b, shared.digest));
    expectResponse(still, { status: 200 });
    expect(still.body.equals(shared.data)).toBe(true);

    await pushBlob(ctx.http, a, shared);
    expectResponse(await ctx.http.head(blobPath(a, shared.digest)), { status: 200 });
  });

  it('DELETE of an unknown blob → 404 BLOB_UNKNOWN', async () => {
    expectError(await ctx.http.send('DELETE', blobPath(repo, absentDigest())), 'BLOB_UNKNOWN');
  });

  it('a zero-length blob is served with Content-Length 0', async () => {
    const empty = randomBlob(0);
    await pushBlob(ctx.http, repo, empty);
    const res = await ctx.http.get(blobPath(repo, empty.digest));
    expectResponse(res, { status: 200, headers: { 'content-length': '0', 'docker-content-digest': empty.digest } });
    expect(res.body.length).toBe(0);
  });
});
