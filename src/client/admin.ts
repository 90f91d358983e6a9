import { ociErrorFromBody } from '../oci/errors.js';
import type { GcReport } from '../registry/gc/report.js';
import type { GcRequest } from '../server/handlers/admin.js';
import { ConnectionError, ProtocolError } from './errors.js';

/** Runs a collection inside a running `regctl serve` (POST /admin/gc) and returns its report. */
export async function remoteGc(baseUrl: string, options: GcRequest, signal?: AbortSignal): Promise<GcReport> {
  const url = new URL('/admin/gc', baseUrl);
  // Loaded here: `regctl gc` on a root never needs an HTTP client.
  const { request } = await import('undici');
  let res;
  try {
    res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(options),
      signal,
      // A collection of a large store takes a while; the server sends nothing until it is done.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  } catch (err) {
    throw new ConnectionError(`cannot reach ${url.host}: ${(err as Error).message}`, { cause: err });
  }
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ProtocolError(`${url.host} answered ${res.statusCode} without JSON; is it a regctl serve?`);
  }
  if (res.statusCode !== 200) {
    throw ociErrorFromBody(res.statusCode, json) ?? new ProtocolError(`${url.host} answered ${res.statusCode} to POST /admin/gc`);
  }
  return json as GcReport;
}
