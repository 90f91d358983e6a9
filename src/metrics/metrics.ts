import type { Registry } from 'prom-client';
import type { DeliveryStats } from '../events/queue.js';
import type { CacheStats } from '../registry/cache.js';
import type { ProxyStats } from '../registry/proxy/context.js';
import type { GcRunListener } from '../registry/gc/coordinator.js';
import type { RequestObserver } from '../server/app.js';
import { observeRequests } from './requests.js';

/**
 * Everything `/metrics` shows, in one prom-client registry owned by the caller (prom-client's global
 * default registry is never touched, so two servers in one process, as in tests, keep apart).
 */
export interface Metrics {
  registry: Registry;
  /** Give to `ServerOptions.observers`: requests, bytes, durations, uploads. */
  observer: RequestObserver;
  /** Give to the manifest ContentCache. */
  cache: CacheStats;
  /** Give to the ProxyRegistry (pull-through cache). */
  proxy: ProxyStats;
  /** Give to the notifier. */
  webhooks: DeliveryStats;
  /** Give to the GcCoordinator: every collection inside the server (POST /admin/gc and scheduled). */
  gcRun: GcRunListener;
}

/** Request durations from a fast manifest HEAD to a slow large blob. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** prom-client is loaded here, when serving with metrics, not by every command the CLI runs. */
export async function createMetrics(options: { processMetrics?: boolean } = {}): Promise<Metrics> {
  const { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } = await import('prom-client');
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const requests = new Counter({ name: 'regctl_http_requests_total', help: 'HTTP requests by route, method and status', labelNames: ['route', 'method', 'status'], registers });
  const durations = new Histogram({
    name: 'regctl_http_request_duration_seconds',
    help: 'Time from a request to the end of its response, by route and method',
    labelNames: ['route', 'method'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const bytesIn = new Counter({ name: 'regctl_http_received_bytes_total', help: 'Bytes received (headers and bodies) by route', labelNames: ['route'], registers });
  const bytesOut = new Counter({ name: 'regctl_http_sent_bytes_total', help: 'Response body bytes sent by route', labelNames: ['route'], registers });
  const uploads = new Histogram({
    name: 'regctl_blob_upload_duration_seconds',
    help: 'Blob uploads from their POST to the PUT that completes them (monolithic: the one request)',
    buckets: DURATION_BUCKETS,
    registers,
  });
  const cache = new Counter({ name: 'regctl_manifest_cache_requests_total', help: 'Manifest cache lookups by result (hit, miss)', labelNames: ['result'], registers });
  const proxied = new Counter({
    name: 'regctl_proxy_requests_total',
    help:
      'Pull-through cache requests by kind (manifest, blob) and result: hit = from the cache alone, revalidated = from the cache ' +
      'once a HEAD upstream confirmed it, miss = the upstream was asked for it, stale = from the cache because the upstream failed',
    labelNames: ['kind', 'result'],
    registers,
  });
  const deliveries = new Counter({
    name: 'regctl_webhook_deliveries_total',
    help: 'Webhook events by endpoint and result: success = delivered, dropped = never delivered; failure counts failed attempts',
    labelNames: ['endpoint', 'result'],
    registers,
  });
  const queued = new Gauge({ name: 'regctl_webhook_queue_length', help: 'Webhook events waiting per endpoint', labelNames: ['endpoint'], registers });
  const gcRuns = new Counter({ name: 'regctl_gc_runs_total', help: 'Garbage collections run inside the server', registers });
  const gcDuration = new Histogram({
    name: 'regctl_gc_duration_seconds',
    help: 'Duration of garbage collections run inside the server',
    buckets: [0.1, 1, 10, 60, 300, 1800, 3600],
    registers,
  });

  return {
    registry,
    observer: observeRequests({ requests, durations, bytesIn, bytesOut, uploads }),
    cache: { hit: () => cache.inc({ result: 'hit' }), miss: () => cache.inc({ result: 'miss' }) },
    proxy: { served: (kind, result) => proxied.inc({ kind, result }) },
    webhooks: {
      delivered: (endpoint, count) => deliveries.inc({ endpoint, result: 'success' }, count),
      failed: (endpoint) => deliveries.inc({ endpoint, result: 'failure' }),
      dropped: (endpoint, count) => deliveries.inc({ endpoint, result: 'dropped' }, count),
      queued: (endpoint, length) => queued.set({ endpoint }, length),
    },
    gcRun: (durationMs) => {
      gcRuns.inc();
      gcDuration.observe(durationMs / 1000);
    },
  };
}
