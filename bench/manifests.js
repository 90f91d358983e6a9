// Manifest read load (autocannon) and manifest write rate, against a small pushed image.
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import autocannon from 'autocannon';
import { call, locationOf, withDigest } from './http.js';

const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
export const CONNECTIONS = 32;
/** Writers in flight for the PUT rate: enough to overlap round trips, not a load test. */
const PUT_CONCURRENCY = 4;
/** Caps the PUT run even against a registry much faster than expected. */
const MAX_PUTS = 50_000;

// autocannon's parser (http-parser-js) waits for Content-Length bytes after a HEAD reply, which never
// come, so every HEAD would time out; we reach for the parser autocannon itself loaded.
const { HTTPParser } = createRequire(createRequire(import.meta.url).resolve('autocannon'))('http-parser-js');

/** @param {Buffer | string} bytes */
const sha256 = (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/**
 * @param {string} base
 * @param {string} repo
 * @param {Buffer} bytes
 */
async function pushSmallBlob(base, repo, bytes) {
  const reply = await call(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST', expect: 202 });
  await call(withDigest(locationOf(reply, base), sha256(bytes)), {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes,
    expect: 201,
  });
}

/**
 * Pushes a one-layer image and tags it; the same bytes go to every registry so they serve equal work.
 * @param {string} base
 * @param {string} repo
 * @param {string} tag
 * @param {{ config: Buffer, layer: Buffer }} image
 * @returns {Promise<string>} the manifest as stored
 */
export async function pushImage(base, repo, tag, { config, layer }) {
  await pushSmallBlob(base, repo, config);
  await pushSmallBlob(base, repo, layer);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST_TYPE,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
  });
  await putManifest(base, repo, tag, manifest);
  return manifest;
}

export function makeImage() {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  return { config, layer: randomBytes(1024) };
}

/**
 * @param {string} base
 * @param {string} repo
 * @param {string} tag
 * @param {string} manifest
 */
function putManifest(base, repo, tag, manifest) {
  return call(`${base}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'content-type': MANIFEST_TYPE },
    body: manifest,
    expect: 201,
  });
}

/** @param {any} client an autocannon Client */
function skipHeadBodies(client) {
  const parser = client.parser;
  /** @type {(...args: unknown[]) => unknown} */
  let onHeadersComplete;
  Object.defineProperty(parser, HTTPParser.kOnHeadersComplete, {
    get: () => (/** @type {unknown[]} */ ...args) => {
      onHeadersComplete(...args);
      return 1;
    },
    set: (fn) => {
      onHeadersComplete = fn;
    },
  });
}

/**
 * @typedef {{ rps: number, requests: number, errors: number, timeouts: number, non2xx: number, mismatches: number }} LoadResult
 */

/**
 * GET or HEAD of one manifest by tag from 32 keep-alive connections.
 * @param {string} base
 * @param {string} repo
 * @param {string} tag
 * @param {'GET' | 'HEAD'} method
 * @param {number} seconds
 * @param {string} manifest the body a GET must return
 * @returns {Promise<LoadResult>}
 */
export async function loadManifest(base, repo, tag, method, seconds, manifest) {
  const result = await autocannon({
    url: `${base}/v2/${repo}/manifests/${tag}`,
    method,
    headers: { accept: MANIFEST_TYPE },
    connections: CONNECTIONS,
    duration: seconds,
    timeout: 5,
    ...(method === 'HEAD' ? { setupClient: skipHeadBodies } : { expectBody: manifest }),
  });
  return {
    rps: result['2xx'] / result.duration,
    requests: result.requests.total,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    mismatches: result.mismatches,
  };
}

/**
 * The same manifest under distinct tags, for `seconds` or MAX_PUTS, whichever comes first.
 * @param {string} base
 * @param {string} repo
 * @param {string} manifest
 * @param {number} seconds
 * @returns {Promise<{ rps: number, puts: number, failures: number, firstFailure?: string }>}
 */
export async function putManifests(base, repo, manifest, seconds) {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let next = 0;
  let puts = 0;
  let failures = 0;
  /** @type {string | undefined} */
  let firstFailure;
  const writer = async () => {
    while (performance.now() < deadline && next < MAX_PUTS) {
      const tag = `put-${next++}`;
      try {
        await putManifest(base, repo, tag, manifest);
        puts++;
      } catch (error) {
        failures++;
        firstFailure ??= String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: PUT_CONCURRENCY }, writer));
  return { rps: puts / ((performance.now() - started) / 1000), puts, failures, firstFailure };
}
