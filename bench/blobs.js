// Blob push (monolithic and chunked) and pull, timed from the first request to the last reply.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { call, drain, locationOf, withDigest } from './http.js';

/** Large enough that hashing and syscalls per chunk are negligible, small enough to stay resident. */
const PATTERN_BYTES = 4 * 1024 * 1024;

/**
 * @typedef {{ size: number, digest: string, pattern: Buffer }} Blob
 * A blob is a random pattern repeated to `size` bytes: random enough that nothing compresses or
 * deduplicates it, without holding the whole blob in memory.
 */

/** @param {number} size */
export function makeBlob(size) {
  const pattern = randomBytes(PATTERN_BYTES);
  const hash = createHash('sha256');
  for (const chunk of slices(pattern, 0, size)) hash.update(chunk);
  return { size, digest: `sha256:${hash.digest('hex')}`, pattern };
}

/**
 * The bytes [start, end) of the blob, as views of its pattern.
 * @param {Buffer} pattern
 * @param {number} start
 * @param {number} end
 */
function* slices(pattern, start, end) {
  for (let at = start; at < end; ) {
    const offset = at % pattern.length;
    const length = Math.min(pattern.length - offset, end - at);
    yield pattern.subarray(offset, offset + length);
    at += length;
  }
}

/**
 * @param {Blob} blob
 * @param {number} start
 * @param {number} end exclusive
 */
function bodyOf(blob, start, end) {
  return Readable.from(slices(blob.pattern, start, end), { objectMode: false });
}

/**
 * @param {string} base registry URL
 * @param {string} repo
 */
async function startUpload(base, repo) {
  const reply = await call(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST', expect: 202 });
  return locationOf(reply, base);
}

/**
 * POST, then one PUT with the whole blob as its body.
 * @param {string} base
 * @param {string} repo
 * @param {Blob} blob
 * @returns {Promise<number>} seconds
 */
export async function pushMonolithic(base, repo, blob) {
  const started = performance.now();
  const location = await startUpload(base, repo);
  await call(withDigest(location, blob.digest), {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
    body: bodyOf(blob, 0, blob.size),
    expect: 201,
  });
  return (performance.now() - started) / 1000;
}

/**
 * POST, PATCHes of `chunkSize` each following the Location of the previous reply, then an empty PUT.
 * @param {string} base
 * @param {string} repo
 * @param {Blob} blob
 * @param {number} chunkSize
 * @returns {Promise<number>} seconds
 */
export async function pushChunked(base, repo, blob, chunkSize) {
  const started = performance.now();
  let location = await startUpload(base, repo);
  for (let start = 0; start < blob.size; start += chunkSize) {
    const end = Math.min(start + chunkSize, blob.size);
    const reply = await call(location, {
      method: 'PATCH',
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(end - start),
        'content-range': `${start}-${end - 1}`,
      },
      body: bodyOf(blob, start, end),
      expect: 202,
    });
    location = locationOf(reply, base);
  }
  await call(withDigest(location, blob.digest), {
    method: 'PUT',
    headers: { 'content-length': '0' },
    expect: 201,
  });
  return (performance.now() - started) / 1000;
}

/**
 * @param {string} base
 * @param {string} repo
 * @param {Blob} blob
 * @returns {Promise<number>} seconds
 */
export async function pull(base, repo, blob) {
  const started = performance.now();
  const bytes = await drain(`${base}/v2/${repo}/blobs/${blob.digest}`);
  const seconds = (performance.now() - started) / 1000;
  if (bytes !== blob.size) throw new Error(`pulled ${bytes} bytes of ${blob.digest}, expected ${blob.size}`);
  return seconds;
}
