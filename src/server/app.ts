import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createServer as createHttpsServer } from 'node:https';
import { Readable } from 'node:stream';
import { redactQuery } from '../auth/redact.js';
import type { ClientRequest, Identity, Need, ServerAuth } from '../auth/server-auth.js';
import type { TokenRequest } from '../auth/token-service.js';
import { Denied, NotFound, Unsupported } from '../oci/errors.js';
import { NAME_PATTERN, validateName } from '../oci/reference.js';
import type { Logger } from '../log/logger.js';
import type { MetricsSource } from './handlers/metrics.js';
import type { Registry } from '../registry/registry.js';
import { FileRangeStream } from '../storage/file-stream.js';
import { errorReply } from './respond.js';
import { matchRoute } from './routes.js';
import { requestIdFrom, RequestScope, type RequestInfo } from './request-scope.js';
import type { Access, Reply } from './types.js';

/** What an observer (metrics, audit) learns of each finished request. */
export interface CompletedRequest {
  request: RequestInfo;
  /** The route's name (`manifest`, `blob`, …), or `unmatched`. */
  route: string;
  repo: string;
  /** The path parameter after the name (reference, digest or upload id), decoded. */
  param: string;
  /** The query string as the handler saw it (without `?`; '' when none): tells a mount from an upload. */
  query: string;
  status: number;
  /** The reply's headers (digest, media type, length, location) as sent. */
  responseHeaders: Record<string, string | string[] | number | undefined>;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
}

export type RequestObserver = (done: CompletedRequest) => void;

export interface ServerOptions {
  registry: Registry;
  logger: Logger;
  readOnly: boolean;
  deleteEnabled: boolean;
  /** Authentication and access rules (`createServerAuth`); none = an open registry. */
  auth?: ServerAuth;
  /** PEM contents; given = HTTPS. `clientCa` = clients must present a certificate it signed. */
  tls?: { cert: string; key: string; clientCa?: string };
  /** Shared with store wrappers that need to know the current request; one is made when absent. */
  scope?: RequestScope;
  /** Told about every finished request, after the reply. */
  observers?: RequestObserver[];
  /** Rendered at GET /metrics; absent = 404. */
  metrics?: MetricsSource;
}

const API_VERSION = { 'Docker-Distribution-API-Version': 'registry/2.0' };

/** The request pipeline: route → policy → handler → reply; the only place replies and errors are written. */
export function createRequestListener(options: ServerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { registry, logger } = options;
  const scope = options.scope ?? new RequestScope();
  const observers = options.observers ?? [];
  // What each keep-alive socket had read by the end of its previous request: a request's bytes are
  // counted at its end, since by its start Node has often read its headers and body already.
  const readUntil = new WeakMap<Socket, number>();
  const refusal = (access: Access, remote: string | undefined): string | undefined => {
    if (access === 'public') return undefined;
    if (access === 'admin') return isLoopback(remote) ? undefined : 'the admin API answers only clients on this machine';
    if (access !== 'read' && options.readOnly) return 'the registry is in read-only mode';
    if (access === 'delete' && !options.deleteEnabled) return 'deletes are disabled on this registry (storage.delete.enabled: true in the config file, or serve without --no-delete)';
    return undefined;
  };

  return (req, res) => {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
    const remote = req.socket.remoteAddress;
    const request: RequestInfo = {
      id: requestIdFrom(req.headers['x-request-id']),
      method,
      remote,
      host: req.headers.host,
      userAgent: req.headers['user-agent'],
    };
    const query = new URLSearchParams(q === -1 ? '' : rawUrl.slice(q + 1));
    let bytesOut = 0;
    let routeName = 'unmatched';
    let repoName = '';
    let paramValue = '';
    res.setHeader('X-Request-Id', request.id);

    res.once('close', () => {
      const durationMs = performance.now() - started;
      const bytesRead = req.socket.bytesRead;
      const bytesIn = bytesRead - (readUntil.get(req.socket) ?? 0);
      readUntil.set(req.socket, bytesRead);
      logger.access({ method, path: redactQuery(rawUrl), status: res.statusCode, bytes: bytesOut, durationMs, remote, requestId: request.id });
      if (observers.length === 0) return;
      const done: CompletedRequest = {
        request,
        route: routeName,
        repo: repoName,
        param: paramValue,
        query: query.toString(),
        status: res.statusCode,
        responseHeaders: res.getHeaders(),
        bytesIn,
        bytesOut,
        durationMs,
      };
      for (const observe of observers) {
        try {
          observe(done);
        } catch (err) {
          logger.error('request observer failed', { error: (err as Error).message });
        }
      }
    });

    const send = (reply: Reply): void => {
      const headers: Record<string, string | number> = { ...API_VERSION, ...reply.headers };
      const body = reply.body;
      if (body instanceof Readable) {
        res.writeHead(reply.status, headers);
        body.once('error', (err) => {
          logger.error('read failed while streaming a response', { path, error: err.message });
          res.destroy(err);
        });
        res.once('close', () => body.destroy());
        // pipe(), by hand, for the write callback: once the socket has the bytes, a file stream may
        // read into the same memory again (see FileRangeStream).
        const recycle = body instanceof FileRangeStream ? body.recycle.bind(body) : undefined;
        body.on('data', (chunk: Buffer) => {
          bytesOut += chunk.length;
          if (!res.write(chunk, recycle && (() => recycle(chunk)))) body.pause();
        });
        res.on('drain', () => body.resume());
        body.once('end', () => res.end());
        return;
      }
      const buf = typeof body === 'string' ? Buffer.from(body) : body;
      if (buf !== undefined) headers['Content-Length'] ??= buf.length;
      res.writeHead(reply.status, headers);
      if (buf !== undefined && method !== 'HEAD') {
        bytesOut = buf.length;
        res.end(buf);
      } else {
        res.end();
      }
    };

    const fail = (err: unknown): void => {
      const { reply, internal } = errorReply(err);
      if (internal) logger.error('request failed', { method, path, error: String((err as Error)?.stack ?? err) });
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      // An unread request body could be gigabytes: close the connection rather than drain it.
      if (!req.complete) (reply.headers ??= {}).Connection = 'close';
      send(reply);
    };

    const handle = async (): Promise<Reply> => {
      const { auth } = options;
      const client: ClientRequest = { authorization: req.headers.authorization, remote, host: req.headers.host, secure: Boolean(options.tls) };
      const match = matchRoute(path);
      const entry = match?.route.methods[method];
      // Public routes (the token service, health) skip authentication; everything else, unknown paths
      // included, learns who is asking first, so a stranger cannot probe which endpoints exist.
      const identity: Identity | undefined = auth && entry?.access !== 'public' ? await auth.authenticate(client) : undefined;
      if (identity) request.user = identity.user;
      if (!match || !entry) {
        if (auth && identity) await auth.authorize(identity, { kind: 'login' }, client);
        if (!match) throw new NotFound(`no such endpoint: ${method} ${path}`);
        throw new Unsupported(`${method} is not supported on ${path}`, { detail: { allowed: Object.keys(match.route.methods) } });
      }
      routeName = match.route.name;
      repoName = match.repo;
      paramValue = decodeParam(match.param);
      // Validated before any access rule sees it: globs only ever meet canonical names (no `..`,
      // no percent-encoding, no empty segments, lowercase), so no path trick can slip past a rule.
      if (match.route.hasName) validateName(match.repo);
      let mayPull: ((repo: string) => boolean) | undefined;
      if (auth && identity && entry.access !== 'public') {
        await auth.authorize(identity, need(match.route.name, match.repo, entry.access), client);
        if (match.route.name === 'catalog') mayPull = await auth.pullFilter(identity);
        if (match.route.name === 'upload-start' && query.has('mount')) await dropUnreadableMount(auth, identity, query);
      }
      const refused = refusal(entry.access, remote);
      if (refused) throw entry.access === 'admin' ? new Denied(refused) : new Unsupported(refused);
      return entry.handler({
        method,
        repo: match.repo,
        param: paramValue,
        query,
        headers: req.headers,
        body: req,
        registry,
        readOnly: options.readOnly,
        metrics: options.metrics,
        ...(mayPull ? { mayPull } : {}),
        ...(auth?.tokenService ? { issueToken: (r: TokenRequest) => auth.issueToken(r, client) } : {}),
      });
    };

    scope.run(request, () => handle().then(send, fail));
  };
}

export function createRegistryServer(options: ServerOptions): Server {
  const http = { keepAliveTimeout: 65_000, requestTimeout: 0 };
  const { tls } = options;
  const server: Server = tls
    ? createHttpsServer(
        { ...http, cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2', ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}) },
        createRequestListener(options),
      )
    : createServer(http, createRequestListener(options));
  // Large blob uploads can take longer than Node's default 5-minute request limit.
  server.headersTimeout = 60_000;
  return server;
}

/** What a route needs of the caller, from its access kind: one mapping for every route. */
function need(route: string, repo: string, access: Exclude<Access, 'public'>): Need {
  if (access === 'admin') return { kind: 'admin' };
  if (repo === '') return route === 'catalog' ? { kind: 'catalog' } : { kind: 'login' };
  return { kind: 'repository', repo, action: access === 'read' ? 'pull' : access === 'write' ? 'push' : 'delete' };
}

/**
 * A cross-repository mount links a blob of another repository: only with pull on that source.
 * Otherwise (or with no `from`, where any blob in the store would do) the mount is dropped and the
 * request answers as a plain upload start, the spec's fallback, so the client uploads the blob
 * itself and learns nothing about repositories it may not read.
 */
async function dropUnreadableMount(auth: ServerAuth, identity: Identity, query: URLSearchParams): Promise<void> {
  const from = query.get('from');
  if (from !== null && NAME_PATTERN.test(from) && (await auth.mayPull(identity, from))) return;
  query.delete('mount');
  query.delete('from');
}

/** Clients that URL-encode digests send `sha256%3A…`; the value is validated after decoding. */
function decodeParam(param: string): string {
  if (!param.includes('%')) return param;
  try {
    return decodeURIComponent(param);
  } catch {
    return param;
  }
}

function isLoopback(address: string | undefined): boolean {
  return address !== undefined && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));
}
