import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import type { NotificationEndpoint, NotificationsConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { Registry } from '../registry/registry.js';
import type { CompletedRequest, RequestObserver } from '../server/app.js';
import { buildEvent, intentOf, needsDescription, type EventIntent } from './event.js';
import { httpSend } from './http.js';
import { DeliveryQueue, type DeliveryStats, type Send } from './queue.js';

/** Looks up what a reply does not say: a pushed manifest's media type, a blob's size. */
export type Describe = (intent: EventIntent) => Promise<{ mediaType?: string; size?: number }>;

export interface NotifierOptions {
  config: NotificationsConfig;
  logger: Logger;
  describe: Describe;
  /** `https` when the server serves TLS: the scheme of the URLs inside events. */
  scheme: 'http' | 'https';
  /** `host:port` of this registry (the events' `source.addr`); known once the server listens. */
  sourceAddr?: () => string | undefined;
  stats?: DeliveryStats;
  userAgent: string;
  /** Upper bound of an endpoint's back-off pause (default 60 s). */
  maxBackoffMs?: number;
  clock?: () => Date;
}

export interface Notifier {
  /** Give to `ServerOptions.observers`. */
  observer: RequestObserver;
  /** After the server has closed: delivers what it can within `timeoutMs`, drops (logs, counts) the rest. */
  close(timeoutMs: number): Promise<void>;
}

/** Events per envelope at most: a backlog drains fast, and no single request grows large. */
const MAX_BATCH = 100;

/** Webhooks: events derived from finished requests, queued per endpoint, delivered in the background. */
export function createNotifier(options: NotifierOptions): Notifier {
  const { logger, config } = options;
  const instanceID = randomUUID();
  const clock = options.clock ?? (() => new Date());
  let dispatcher: Promise<Dispatcher> | undefined;
  // undici is loaded only when there is an endpoint: a registry without webhooks never pays for it.
  const agent = (): Promise<Dispatcher> => (dispatcher ??= import('undici').then(({ Agent }) => new Agent({ connections: 4, keepAliveTimeout: 30_000 })));
  const endpoints = config.endpoints
    .filter((e) => !e.disabled)
    .map((endpoint) => ({ endpoint, queue: queueFor(endpoint, httpSend(endpoint, agent(), options.userAgent)) }));
  const pending = new Set<Promise<void>>();

  function queueFor(endpoint: NotificationEndpoint, send: Send): DeliveryQueue {
    return new DeliveryQueue({
      name: endpoint.name,
      limit: config.queueLimit,
      maxBatch: MAX_BATCH,
      threshold: Math.max(1, endpoint.threshold),
      backoffMs: endpoint.backoffMs,
      maxBackoffMs: options.maxBackoffMs ?? 60_000,
      send,
      logger,
      stats: options.stats,
    });
  }

  function dispatch(intent: EventIntent, done: CompletedRequest): void {
    const addr = options.sourceAddr?.();
    const event = buildEvent(intent, done.request, {
      id: randomUUID(),
      timestamp: clock(),
      scheme: options.scheme,
      source: { ...(addr ? { addr } : {}), instanceID },
    });
    const serialized = JSON.stringify(event);
    const describe = { eventId: event.id, action: event.action, repository: event.target.repository, digest: event.target.digest, tag: event.target.tag };
    for (const { endpoint, queue } of endpoints) {
      if (endpoint.ignoredActions.includes(event.action)) continue;
      if (event.target.mediaType !== undefined && endpoint.ignoredMediaTypes.includes(event.target.mediaType)) continue;
      queue.push({ event: serialized, requestId: done.request.id, describe });
    }
  }

  const observer: RequestObserver = (done) => {
    if (endpoints.length === 0) return;
    const intent = intentOf(done);
    if (!intent) return;
    if (!needsDescription(intent)) {
      dispatch(intent, done);
      return;
    }
    const described = options
      .describe(intent)
      .catch((err: unknown) => {
        // Deleted again already, say: the event still says what happened, without a size.
        logger.debug('event target not described', { requestId: done.request.id, digest: intent.digest, error: (err as Error).message });
        return {};
      })
      .then((facts) => dispatch({ ...intent, ...facts }, done))
      .catch((err: unknown) => logger.error('event not queued', { requestId: done.request.id, error: (err as Error).message }));
    pending.add(described);
    void described.finally(() => pending.delete(described));
  };

  return {
    observer,
    async close(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      // Lookups still running would queue their events after the queues closed: wait for them, bounded.
      await Promise.race([Promise.all(pending), sleep(timeoutMs, undefined, { ref: false })]);
      await Promise.all(endpoints.map(({ queue }) => queue.close(Math.max(0, deadline - Date.now()))));
      if (dispatcher) await (await dispatcher).close();
    },
  };
}

/** Describes targets from the registry's own stores (the manifest cache answers a fresh push). */
export function describeFrom(registry: Registry): Describe {
  return async ({ kind, repository, digest }) => {
    if (digest === undefined) return {};
    if (kind === 'manifest') {
      const manifest = await registry.manifests.load(digest);
      return { mediaType: manifest.mediaType, size: manifest.body.length };
    }
    return { size: (await registry.blobs.stat(repository, digest)).size };
  };
}
