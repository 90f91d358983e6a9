import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { ociErrorFromBody } from '../oci/errors.js';
import { parseChallenge, type Challenge } from './challenge.js';
import type { CredentialSource, Credentials } from './credentials.js';
import { AuthError, ProtocolError } from './errors.js';
import { errorCode, errorFrom, explainFailure } from './failures.js';
import { clientHints } from './scheme.js';

export interface TransportOptions {
  /** host[:port] */
  registry: string;
  scheme: 'http' | 'https';
  credentials?: CredentialSource;
  /** Extra CA certificates (PEM) to trust, and whether to skip verification altogether. */
  tls?: { ca?: string[]; insecure?: boolean };
  /** Time to wait for response headers, and for each chunk of a body. */
  timeoutMs?: number;
  /** Retries of connection errors on GET/HEAD, and of 429, 502, 503 and 504 (never other statuses). */
  retries?: number;
  userAgent?: string;
  dispatcher?: Dispatcher;
  /** Waits between retries; replaced in tests. */
  sleep?: (ms: number) => Promise<void>;
  /** What errors tell the user to run; see clientHints in connect.ts. */
  hints?: TransportHints;
}

export interface TransportHints {
  /** A login command that reaches the registry the way this client does. */
  login: string;
  /** How to speak HTTPS instead, in terms of how plain HTTP was chosen. */
  https: string;
}

export type RequestBody = Buffer | string | (() => Readable);

export interface TransportRequest {
  method: string;
  /** Absolute path with query (`/v2/…`), or an absolute URL on this registry (upload locations). */
  path: string;
  /** Token scope for Bearer auth, e.g. `repository:team/app:pull,push`. */
  scope?: string;
  headers?: Record<string, string>;
  /** A factory for streams, so a request can be sent again after an auth challenge or a retry. */
  body?: RequestBody;
  signal?: AbortSignal;
  /** Statuses that are not errors; anything else becomes an OciError (or a ProtocolError). */
  expect: number[];
}

export type TransportResponse = Dispatcher.ResponseData;

const RETRY_STATUSES = new Set([429, 502, 503, 504]);
const MAX_BACKOFF_MS = 5000;
const RETRY_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

interface Token {
  value: string;
  expires: number;
}

/**
 * One registry's HTTP: pooled keep-alive connections, the WWW-Authenticate dance (Basic, Bearer with
 * a token per scope reused until it expires), bounded retries with backoff, and failures turned into
 * errors that say what to do.
 */
export class Transport {
  readonly origin: string;
  private readonly dispatcher: Promise<Dispatcher>;
  private readonly ownsDispatcher: boolean;
  private readonly tokens = new Map<string, Token>();
  private challenge: Challenge | undefined;
  private credentials: Credentials | undefined | null = null;

  private readonly hints: TransportHints;

  constructor(private readonly options: TransportOptions) {
    this.origin = `${options.scheme}://${options.registry}`;
    this.hints = options.hints ?? clientHints(options.registry, options.scheme);
    this.ownsDispatcher = !options.dispatcher;
    // undici is loaded on first use: commands that never talk HTTP start faster without it.
    this.dispatcher = import('undici').then(({ Agent, interceptors }) => {
      const base =
        options.dispatcher ??
        new Agent({
          connections: 16,
          keepAliveTimeout: 30_000,
          connect: { ca: options.tls?.ca, rejectUnauthorized: !options.tls?.insecure },
        });
      // Registries send blob GETs to storage or a CDN (Docker Hub does); undici drops Authorization when the origin changes.
      return base.compose(interceptors.redirect({ maxRedirections: 5 }));
    });
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await (await this.dispatcher).close();
  }

  async request(req: TransportRequest): Promise<TransportResponse> {
    const retries = this.options.retries ?? 3;
    for (let attempt = 0; ; attempt++) {
      let res: TransportResponse;
      try {
        res = await this.authorized(req);
      } catch (err) {
        // A POST or PATCH may have reached the server before the connection broke: never send it twice.
        const idempotent = req.method === 'GET' || req.method === 'HEAD';
        if (attempt < retries && idempotent && isRetryable(err) && !req.signal?.aborted) {
          await this.backoff(attempt);
          continue;
        }
        throw explainFailure(err, this.options.registry, this.options.scheme, this.hints);
      }
      const wait = retryAfter(res.headers['retry-after']);
      // A wait longer than we would sleep (a login lockout says about a minute) cannot succeed
      // sooner: the answer, with the registry's message, is more use than three futile retries.
      if (RETRY_STATUSES.has(res.statusCode) && attempt < retries && replayable(req.body) && !(wait !== undefined && wait > MAX_BACKOFF_MS)) {
        await res.body.dump();
        await this.backoff(attempt, wait);
        continue;
      }
      if (req.expect.includes(res.statusCode)) return res;
      if (res.statusCode === 403 && req.method === 'HEAD') throw await this.denialOfHead(res, req);
      throw await errorFrom(res, req, this.hints.https);
    }
  }

  /** Sends with what we know of the registry's auth; on a 401, learns the challenge and tries once more. */
  private async authorized(req: TransportRequest): Promise<TransportResponse> {
    const first = await this.send(req, await this.authorization(req.scope));
    if (first.statusCode !== 401) return first;
    const challenge = parseChallenge(headerOf(first.headers['www-authenticate']));
    await first.body.dump();
    if (!challenge) throw new AuthError(`${this.options.registry} answered 401 without a challenge`);
    this.challenge = challenge;
    const credentials = await this.credentialsFor();
    if (challenge.scheme === 'basic' && !credentials) {
      throw new AuthError(this.loginRequired());
    }
    if (!replayable(req.body)) {
      throw new AuthError(`${this.options.registry} asked for authentication in the middle of a streamed upload`);
    }
    if (challenge.scheme === 'bearer') this.tokens.delete(scopeKey(req.scope));
    const second = await this.send(req, await this.authorization(req.scope));
    if (second.statusCode === 401) {
      const refusal = parseChallenge(headerOf(second.headers['www-authenticate']));
      await second.body.dump();
      // A token without the scope means the login is good but may not do this: saying "wrong password" would mislead.
      const scope = req.scope ?? refusal?.params.scope;
      throw new AuthError(
        !credentials
          ? this.loginRequired()
          : refusal?.params.error === 'insufficient_scope' && scope
            ? `${this.options.registry} does not grant ${credentials.username} ${scope}`
            : `${this.options.registry} refused the credentials for ${credentials.username}`,
      );
    }
    return second;
  }

  private async send(req: TransportRequest, authorization: string | undefined): Promise<TransportResponse> {
    const headers: Record<string, string> = { 'user-agent': this.options.userAgent ?? 'regctl', ...req.headers };
    if (authorization) headers.authorization = authorization;
    const url = req.path.startsWith('http://') || req.path.startsWith('https://') ? new URL(req.path) : new URL(req.path, this.origin);
    const body = typeof req.body === 'function' ? req.body() : req.body;
    return (await this.dispatcher).request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: req.method as Dispatcher.HttpMethod,
      headers,
      body,
      signal: req.signal,
      headersTimeout: this.options.timeoutMs ?? 30_000,
      bodyTimeout: this.options.timeoutMs ?? 30_000,
    });
  }

  private async authorization(scope: string | undefined): Promise<string | undefined> {
    const challenge = this.challenge;
    if (!challenge) return undefined;
    const credentials = await this.credentialsFor();
    if (challenge.scheme === 'basic') {
      return credentials ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}` : undefined;
    }
    if (challenge.scheme !== 'bearer') throw new AuthError(`${this.options.registry} wants unsupported auth scheme "${challenge.scheme}"`);
    const key = scopeKey(scope);
    const cached = this.tokens.get(key);
    if (cached && cached.expires > Date.now()) return `Bearer ${cached.value}`;
    const token = await this.fetchToken(challenge, scope, credentials);
    this.tokens.set(key, token);
    return `Bearer ${token.value}`;
  }

  /** The Docker token protocol: GET realm?service=…&scope=…, with Basic credentials when we have them. */
  private async fetchToken(challenge: Challenge, scope: string | undefined, credentials: Credentials | undefined): Promise<Token> {
    const realm = challenge.params.realm;
    if (!realm) throw new AuthError(`${this.options.registry} sent a Bearer challenge without a realm`);
    const url = new URL(realm);
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    // The spec repeats `scope` once per resource; a space-joined list reads as one malformed scope.
    for (const one of (scope ?? challenge.params.scope ?? '').split(' ').filter(Boolean)) url.searchParams.append('scope', one);
    const headers: Record<string, string> = { 'user-agent': this.options.userAgent ?? 'regctl' };
    if (credentials) headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
    let res: TransportResponse;
    try {
      res = await (await this.dispatcher).request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers,
        headersTimeout: this.options.timeoutMs ?? 30_000,
        bodyTimeout: this.options.timeoutMs ?? 30_000,
      });
    } catch (err) {
      throw explainFailure(err, url.host, this.options.scheme, this.hints);
    }
    if (res.statusCode === 401 || res.statusCode === 403) {
      await res.body.dump();
      throw new AuthError(
        credentials
          ? `the token service at ${url.host} refused the credentials for ${credentials.username}`
          : this.loginRequired(),
      );
    }
    if (res.statusCode !== 200) {
      // The registry's own message (a lockout says when to try again) beats a bare status.
      const reason = ociErrorFromBody(res.statusCode, await res.body.json().catch(() => undefined))?.message;
      throw new AuthError(`the token service at ${url.host} answered ${res.statusCode}${reason ? `: ${reason}` : ''}`);
    }
    const json = (await res.body.json()) as { token?: string; access_token?: string; expires_in?: number };
    const value = json.token ?? json.access_token;
    if (!value) throw new ProtocolError(`the token service at ${url.host} sent no token`);
    // Tokens without a lifetime last 60 s by the spec; renew a little early.
    const lifetime = Math.max(10, (json.expires_in ?? 60) - 5) * 1000;
    return { value, expires: Date.now() + lifetime };
  }

  /**
   * A HEAD answer has no body, so a 403 to one carries no reason; the same GET carries the
   * registry's message (`carol may not pull team-a/app`), which is what the user needs to see.
   */
  private async denialOfHead(head: TransportResponse, req: TransportRequest): Promise<Error> {
    // Read (and so released) first: it is the answer whenever the GET cannot give a better one.
    const fallback = await errorFrom(head, req, this.hints.https);
    let res: TransportResponse;
    try {
      res = await this.send({ ...req, method: 'GET' }, await this.authorization(req.scope));
    } catch {
      return fallback;
    }
    if (res.statusCode !== 403) {
      res.body.destroy();
      return fallback;
    }
    return errorFrom(res, req, this.hints.https);
  }

  private loginRequired(): string {
    return `${this.options.registry} requires a login: run \`${this.hints.login}\``;
  }

  private async credentialsFor(): Promise<Credentials | undefined> {
    if (this.credentials === null) this.credentials = await this.options.credentials?.(this.options.registry);
    return this.credentials ?? undefined;
  }

  private async backoff(attempt: number, requested?: number): Promise<void> {
    const ms = Math.min(requested ?? 200 * 2 ** attempt, MAX_BACKOFF_MS);
    await (this.options.sleep ?? ((t) => new Promise((r) => setTimeout(r, t))))(ms);
  }
}

function headerOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function retryAfter(value: string | string[] | undefined): number | undefined {
  const seconds = Number(headerOf(value));
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

function scopeKey(scope: string | undefined): string {
  return scope ?? '';
}

function replayable(body: RequestBody | undefined): boolean {
  return body === undefined || typeof body !== 'object' || Buffer.isBuffer(body) || typeof body === 'function';
}

function isRetryable(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && RETRY_CODES.has(code);
}
