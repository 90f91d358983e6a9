/** What went wrong talking to a registry, as errors whose one line says what to do. */
import { ociErrorFromBody, OciError } from '../oci/errors.js';
import { AuthError, ConnectionError, ProtocolError, TlsError } from './errors.js';
import { isLoopback } from './scheme.js';
import type { TransportHints, TransportRequest, TransportResponse } from './transport.js';

const TLS_UNKNOWN_AUTHORITY = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
]);

/** Socket and TLS failures as one line saying what is wrong and what to do. */
export function explainFailure(err: unknown, host: string, scheme: 'http' | 'https', hints: TransportHints): Error {
  if (err instanceof OciError || err instanceof AuthError || err instanceof ProtocolError) return err;
  const code = errorCode(err);
  const message = (err as Error)?.message ?? String(err);
  if ((err as Error)?.name === 'AbortError' || code === 'UND_ERR_ABORTED') return err as Error;
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long/i.test(message)) {
    return new TlsError(`${host} speaks plain HTTP, not HTTPS: use --plain-http (or serve it with TLS: regctl serve --tls)`, { cause: err });
  }
  if (code && TLS_UNKNOWN_AUTHORITY.has(code)) {
    return new TlsError(
      `the certificate of ${host} is signed by an unknown authority: pass --ca-file CA.crt, trust the CA with \`regctl tls trust\`, or skip verification with --insecure`,
      { cause: err },
    );
  }
  if (code === 'CERT_HAS_EXPIRED') return new TlsError(`the certificate of ${host} has expired`, { cause: err });
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new TlsError(`the certificate of ${host} is not valid for that name (${message})`, { cause: err });
  }
  if (code === 'ECONNREFUSED') {
    return new ConnectionError(
      isLoopback(host) ? `nothing is listening at ${host}: start a registry with \`regctl serve\`` : `connection refused by ${host}`,
      { cause: err },
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new ConnectionError(`cannot resolve ${host.replace(/:\d+$/, '')}`, { cause: err });
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new ConnectionError(`${host} did not answer in time`, { cause: err });
  }
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') {
    return new ConnectionError(
      `${host} closed the connection${scheme === 'http' ? ` (if it serves HTTPS, ${hints.https})` : ''}`,
      { cause: err },
    );
  }
  return new ConnectionError(`cannot reach ${host}: ${message}`, { cause: err });
}

/** A 4xx/5xx as the OCI error its body carries, or a plain description when it carries none. */
export async function errorFrom(res: TransportResponse, req: TransportRequest, httpsHint: string): Promise<Error> {
  const text = await res.body.text().catch(() => '');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const oci = ociErrorFromBody(res.statusCode, json);
  if (oci) return oci;
  if (/client sent an HTTP request to an HTTPS server/i.test(text)) {
    return new TlsError(`the registry serves HTTPS: ${httpsHint}`);
  }
  const byStatus: Record<number, OciError['code']> = { 401: 'UNAUTHORIZED', 403: 'DENIED', 404: 'NOT_FOUND', 405: 'UNSUPPORTED', 429: 'TOOMANYREQUESTS' };
  const code = byStatus[res.statusCode];
  const summary = `${req.method} ${req.path.replace(/\?.*$/, '')} answered ${res.statusCode}${text ? `: ${text.slice(0, 200).trim()}` : ''}`;
  return code ? new OciError(code, summary, { status: res.statusCode }) : new ProtocolError(summary);
}

export function errorCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && e.code !== 'UND_ERR') return e.code;
  }
  return undefined;
}
