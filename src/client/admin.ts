import { ociErrorFromBody } from '../oci/errors.js';
import type { GcReport } from '../registry/gc/report.js';
import type { GcRequest } from '../server/handlers/admin.js';
import type { Credentials } from './credentials.js';
import { AuthError, ConnectionError, ProtocolError } from './errors.js';
import { rootCertificates } from 'node:tls';

export interface AdminConnection {
  /** Extra CA certificates (PEM) for an HTTPS server. */
  ca?: string[];
  insecure?: boolean;
  credentials?: Credentials;
  /** The login command for this server (see clientHints in connect.ts). */
  loginHint?: string;
}

/** Runs a collection inside a running `regctl serve` (POST /admin/gc) and returns its report. */
export async function remoteGc(baseUrl: string, options: GcRequest, connection: AdminConnection = {}, signal?: AbortSignal): Promise<GcReport> {
  const url = new URL('/admin/gc', baseUrl);
  // Loaded here: `regctl gc` on a root never needs an HTTP client.
  const { Agent, request } = await import('undici');
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const { credentials } = connection;
  if (credentials) headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  const tls = url.protocol === 'https:' && (connection.ca?.length || connection.insecure);
  const dispatcher = tls ? new Agent({ connect: { ca: connection.ca?.length ? [...rootCertificates, ...connection.ca] : undefined, rejectUnauthorized: !connection.insecure } }) : undefined;
  let res;
  try {
    res = await request(url, {
      method: 'POST',
      headers,
      body: JSON.stringify(options),
      signal,
      dispatcher,
      // A collection of a large store takes a while; the server sends nothing until it is done.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  } catch (err) {
    throw new ConnectionError(`cannot reach ${url.host}: ${(err as Error).message}`, { cause: err });
  }
  if (res.statusCode === 401) {
    await res.body.dump();
    throw new AuthError(
      credentials
        ? `${url.host} refused the credentials for ${credentials.username}`
        : `${url.host} requires a login: pass -u NAME --password-stdin, set REGCTL_USERNAME/REGCTL_PASSWORD, or run \`${connection.loginHint ?? `regctl login ${url.origin}`}\``,
    );
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
