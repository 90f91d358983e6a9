import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseListenAddress } from '../config/paths.js';
import type { Logger } from '../log/logger.js';
import { healthReply } from '../server/handlers/health.js';
import { metricsReply, type MetricsSource } from '../server/handlers/metrics.js';
import type { Reply } from '../server/types.js';
import type { StorageDriver } from '../storage/driver.js';

export interface DebugServerOptions {
  /** The CNCF registry's `http.debug.addr`: `host:port`, `:port` or `[v6]:port`. */
  addr: string;
  driver: StorageDriver;
  /** Absent = `/metrics` answers 404. */
  metrics?: MetricsSource;
  logger: Logger;
}

export interface DebugServer {
  /** http://host:port, with the port actually bound. */
  url: string;
  close(): Promise<void>;
}

/**
 * `/metrics` and `/healthz` on their own address, as the CNCF registry's debug server: scrapers and
 * probes reach them on an internal interface while the registry port stays public, with no
 * credentials involved on either side.
 */
export async function startDebugServer(options: DebugServerOptions): Promise<DebugServer> {
  const listen = parseListenAddress(options.addr);
  const { metrics, driver, logger } = options;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    const answer = async (): Promise<Reply> => {
      if (method !== 'GET' && method !== 'HEAD') return { status: 405, headers: { Allow: 'GET, HEAD' }, body: '' };
      if (path === '/healthz') return healthReply(driver);
      if (path === '/metrics' && metrics) return metricsReply(metrics);
      return { status: 404, headers: { 'Content-Type': 'text/plain' }, body: 'not found\n' };
    };
    answer().then(
      (reply) => {
        res.writeHead(reply.status, reply.headers);
        res.end(method === 'HEAD' ? undefined : reply.body);
      },
      (err: unknown) => {
        logger.error('debug server request failed', { path, error: (err as Error).message });
        res.writeHead(500).end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
