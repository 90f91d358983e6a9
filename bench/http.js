// The one place the bench talks HTTP (undici), so every request has a deadline and a checked status.
import { request } from 'undici';

/** A hung server must fail the bench, not stall it: no single request may outlive this. */
const REQUEST_TIMEOUT_MS = 60_000;

/**
 * @typedef {{ status: number, headers: Record<string, string | string[] | undefined>, text: string }} Reply
 * @typedef {{
 *   method?: import('undici').Dispatcher.HttpMethod,
 *   headers?: Record<string, string>,
 *   body?: string | Buffer | import('node:stream').Readable,
 *   expect: number,
 * }} CallOptions
 */

/**
 * Sends one request and reads the whole (small) reply; an unexpected status throws with the body.
 * @param {string | URL} url
 * @param {CallOptions} options
 * @returns {Promise<Reply>}
 */
export async function call(url, { method = 'GET', headers = {}, body, expect }) {
  const { res, text } = await named(`${method} ${url}`, async () => {
    const response = await request(url, { method, headers, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    return { res: response, text: await response.body.text() };
  });
  if (res.statusCode !== expect) {
    throw new Error(`${method} ${url} → ${res.statusCode}, expected ${expect}: ${text.slice(0, 300)}`);
  }
  return { status: res.statusCode, headers: res.headers, text };
}

/**
 * Streams a response body to nowhere, counting bytes; the caller times it.
 * @param {string | URL} url
 * @returns {Promise<number>} bytes received
 */
export function drain(url) {
  return named(`GET ${url}`, async () => {
    const res = await request(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      throw new Error(`→ ${res.statusCode}, expected 200: ${text.slice(0, 300)}`);
    }
    let bytes = 0;
    for await (const chunk of res.body) bytes += chunk.length;
    return bytes;
  });
}

/**
 * A bare TimeoutError or ECONNRESET does not say which request of the run failed.
 * @template T
 * @param {string} what
 * @param {() => Promise<T>} work
 * @returns {Promise<T>}
 */
async function named(what, work) {
  try {
    return await work();
  } catch (error) {
    throw new Error(`${what}: ${error instanceof Error ? error.message : error}`, { cause: error });
  }
}

/**
 * Registries answer with a Location that may be relative and may carry state in its query string.
 * @param {Reply} reply
 * @param {string | URL} base
 */
export function locationOf(reply, base) {
  const location = reply.headers.location;
  if (typeof location !== 'string') throw new Error(`reply ${reply.status} has no Location header`);
  return new URL(location, base);
}

/**
 * Appends `digest=` without re-serialising the registry's own query (its upload state is opaque).
 * @param {URL} location
 * @param {string} digest
 */
export function withDigest(location, digest) {
  const url = new URL(location);
  const param = `digest=${encodeURIComponent(digest)}`;
  url.search = url.search ? `${url.search}&${param}` : `?${param}`;
  return url;
}
