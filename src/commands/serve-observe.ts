import { hostname } from 'node:os';
import { VERSION } from '../cli/version.js';
import { CliError } from '../cli/errors.js';
import type { ServeConfig } from '../config/schema.js';
import { createNotifier, describeFrom, type Notifier } from '../events/notifier.js';
import type { Logger } from '../log/logger.js';
import { startDebugServer, type DebugServer } from '../metrics/debug-server.js';
import { createMetrics, type Metrics } from '../metrics/metrics.js';
import type { ProxyStats } from '../registry/proxy/context.js';
import type { Registry } from '../registry/registry.js';
import type { RequestObserver } from '../server/app.js';
import type { MetricsSource } from '../server/handlers/metrics.js';

/** Metrics and webhooks of a serve: what the registry and the server are given, and what stops them. */
export interface Observability {
  /** For `new Registry(…)`: cache and gc counters. */
  registryHooks: Pick<NonNullable<ConstructorParameters<typeof Registry>[0]>, 'cacheStats' | 'onGcRun'>;
  /** For a pull-through cache: how its requests were served. */
  proxyStats?: ProxyStats;
  /** Wires the notifier to the registry it describes events from; call once the registry exists. */
  attach(registry: Registry, scheme: 'http' | 'https'): { observers: RequestObserver[]; metrics?: MetricsSource };
  /** Once the server listens: the events' source address, and the debug listener (`http.debug.addr`). */
  listening(port: number, registry: Registry): Promise<void>;
  /** After the server has closed: deliver queued events (bounded), close the debug listener. */
  close(): Promise<void>;
}

export async function createObservability(config: ServeConfig, logger: Logger): Promise<Observability> {
  const metrics: Metrics | undefined = config.regctl.metrics || config.http.debugAddr ? await createMetrics() : undefined;
  let notifier: Notifier | undefined;
  let debug: DebugServer | undefined;
  let sourceAddr: string | undefined;
  return {
    registryHooks: metrics ? { cacheStats: metrics.cache, onGcRun: metrics.gcRun } : {},
    proxyStats: metrics?.proxy,
    attach(registry, scheme) {
      if (config.notifications.endpoints.some((endpoint) => !endpoint.disabled)) {
        notifier = createNotifier({
          config: config.notifications,
          logger,
          describe: describeFrom(registry),
          scheme,
          sourceAddr: () => sourceAddr,
          stats: metrics?.webhooks,
          userAgent: `regctl/${VERSION}`,
        });
      }
      const observers = [metrics?.observer, notifier?.observer].filter((o): o is RequestObserver => o !== undefined);
      return { observers, ...(config.regctl.metrics && metrics ? { metrics: metrics.registry } : {}) };
    },
    async listening(port, registry) {
      sourceAddr = `${hostname()}:${port}`;
      if (!config.http.debugAddr) return;
      try {
        debug = await startDebugServer({ addr: config.http.debugAddr, driver: registry.driver, metrics: metrics?.registry, logger });
      } catch (err) {
        throw new CliError(`cannot serve metrics on http.debug.addr ${config.http.debugAddr}: ${(err as Error).message}`);
      }
      logger.info('debug server listening (/metrics, /healthz)', { url: debug.url });
    },
    async close() {
      await notifier?.close(config.regctl.shutdownTimeoutMs);
      await debug?.close();
    },
  };
}
