// A proxying regctl in-process and a real upstream regctl behind a switch (answer, 429, corrupt
// blobs, slow blobs, down), both on loopback port 0, for the pull-through cache suites.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProxyUpstream } from '../../src/config/schema.js';
import { silentLogger, type Logger } from '../../src/log/logger.js';
import type { ProxyStats } from '../../src/registry/proxy/context.js';
import { ProxyRegistry } from '../../src/registry/proxy/registry.js';
import { Registry } from '../../src/registry/registry.js';
import { createRegistryServer, createRequestListener, type CompletedRequest } from '../../src/server/app.js';
import { RequestScope } from '../../src/server/request-scope.js';
import { FilesystemDriver } from '../../src/storage/filesystem.js';
import { MemoryDriver } from '../../src/storage/memory.js';

export type UpstreamMode = 'ok' | 'throttle' | 'corrupt' | 'slow';

export interface TestUpstream {
  url: string;
  registry: Registry;
  /** What the upstream answered, in order (route, method, repo, status, the X-Request-Id it saw). */
  requests: { route: string; method: string; repo: string; param: string; status: number; requestId: string }[];
  mode: UpstreamMode;
  /** Seconds sent in Retry-After while throttling. */
  retryAfter: number;
  /** Stops listening and cuts every connection: the upstream is down. */
  stop(): Promise<void>;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

const SLOW_CHUNK = 16 * 1024;

/**
 * A real regctl registry; in `throttle` mode it answers 429 (with Retry-After) before the registry
 * sees the request, in `corrupt` mode blob GETs carry other bytes of the same length, and in `slow`
 * mode blob GETs trickle out 16 KiB every 20 ms.
 */
export async function startUpstream(): Promise<TestUpstream> {
  const registry = new Registry({ driver: new MemoryDriver() });
  const requests: TestUpstream['requests'] = [];
  const observe = (done: CompletedRequest): void => {
    requests.push({ route: done.route, method: done.request.method, repo: done.repo, param: done.param, status: done.status, requestId: done.request.id });
  };
  const handle = createRequestListener({ registry, logger: silentLogger, readOnly: false, deleteEnabled: true, observers: [observe] });
  const upstream = { mode: 'ok', retryAfter: 7 } as TestUpstream;
  const isBlobGet = (method: string | undefined, url: string | undefined): boolean =>
    method === 'GET' && /\/blobs\/sha256:[0-9a-f]{64}$/.test(url ?? '');
  const server = createServer((req, res) => {
    if (upstream.mode === 'throttle' && req.url !== '/v2/') {
      requests.push({ route: 'throttled', method: req.method ?? '', repo: '', param: '', status: 429, requestId: String(req.headers['x-request-id']) });
      res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': String(upstream.retryAfter) });
      res.end(JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] }));
      return;
    }
    if (isBlobGet(req.method, req.url) && (upstream.mode === 'corrupt' || upstream.mode === 'slow')) {
      const mode = upstream.mode;
      const write = res.write.bind(res);
      const chunks: Buffer[] = [];
      // The real reply, rewritten on the way out.
      res.write = ((chunk: Buffer) => (chunks.push(Buffer.from(chunk)), true)) as typeof res.write;
      const end = res.end.bind(res);
      res.end = ((chunk?: Buffer) => {
        if (chunk) chunks.push(Buffer.from(chunk));
        const body = Buffer.concat(chunks);
        if (mode === 'corrupt') {
          body[0] = body[0]! ^ 0xff;
          write(body);
          return end();
        }
        let at = 0;
        const timer = setInterval(() => {
          if (res.destroyed) return clearInterval(timer);
          write(body.subarray(at, at + SLOW_CHUNK));
          at += SLOW_CHUNK;
          if (at >= body.length) {
            clearInterval(timer);
            end();
          }
        }, 20);
        return res;
      }) as typeof res.end;
    }
    handle(req, res);
  });
  upstream.url = await listen(server);
  upstream.registry = registry;
  upstream.requests = requests;
  upstream.stop = () => closeServer(server);
  return upstream;
}

export interface TestProxy {
  url: string;
  registry: ProxyRegistry;
  root: string;
  /** Moves the proxy's clock on. */
  advance(ms: number): void;
  close(): Promise<void>;
}

/** Storage that hands out URLs of its own for blobs, as the S3 driver does with `redirect`. */
class RedirectingDriver extends FilesystemDriver {
  async urlFor(path: string): Promise<string> {
    return `http://127.0.0.1:9/presigned${path}`;
  }
}

/**
 * A proxying regctl over a fresh filesystem root, with a clock the test moves; `redirect` gives it
 * storage that answers blob GETs with a URL (and no link cache, which would hide that).
 */
export async function startProxy(upstreams: ProxyUpstream[], options: { logger?: Logger; redirect?: boolean; stats?: ProxyStats } = {}): Promise<TestProxy> {
  const root = await mkdtemp(join(tmpdir(), 'regctl-proxy-'));
  let offset = 0;
  const clock = (): Date => new Date(Date.now() + offset);
  const scope = new RequestScope();
  const logger = options.logger ?? silentLogger;
  const driver = options.redirect ? new RedirectingDriver(root) : new FilesystemDriver(root);
  const registry = new ProxyRegistry({ driver, clock, linkCacheTtlMs: options.redirect ? 0 : undefined }, { upstreams }, { logger, scope, clock, stats: options.stats });
  const server = createRegistryServer({ registry, logger, readOnly: false, deleteEnabled: true, scope });
  const url = await listen(server);
  return {
    url,
    registry,
    root,
    advance: (ms) => (offset += ms),
    async close() {
      await closeServer(server);
      await registry.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Warnings a logger was given, for asserting that a stale copy was served knowingly. */
export function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { ...silentLogger, warnings, warn: (message) => warnings.push(message) };
}
