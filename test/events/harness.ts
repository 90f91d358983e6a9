// A real registry with the notifier and metrics as observers, and real receivers on loopback.
import type { NotificationEndpoint } from '../../src/config/schema.js';
import { createNotifier, describeFrom, type Notifier } from '../../src/events/notifier.js';
import { createLogger, type Logger } from '../../src/log/logger.js';
import { createMetrics, type Metrics } from '../../src/metrics/metrics.js';
import { RegistryHttp } from '../helpers/http.js';
import { startRegistry, type TestRegistry } from '../helpers/server.js';

export interface Harness {
  reg: TestRegistry;
  http: RegistryHttp;
  notifier: Notifier;
  metrics: Metrics;
  logger: Logger;
  /** JSON log lines, parsed. */
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

export function endpoint(url: string, overrides: Partial<NotificationEndpoint> = {}): NotificationEndpoint {
  return {
    name: 'hook',
    url,
    headers: {},
    timeoutMs: 2_000,
    threshold: 3,
    backoffMs: 20,
    ignoredMediaTypes: [],
    ignoredActions: [],
    disabled: false,
    ...overrides,
  };
}

export async function startHarness(endpoints: NotificationEndpoint[], options: { queueLimit?: number; maxBackoffMs?: number } = {}): Promise<Harness> {
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug', format: 'json', write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  const metrics = await createMetrics({ processMetrics: false });
  let reg: TestRegistry | undefined;
  const notifier = createNotifier({
    config: { endpoints, queueLimit: options.queueLimit ?? 1000 },
    logger,
    describe: (intent) => describeFrom(reg!.registry)(intent),
    scheme: 'http',
    sourceAddr: () => reg?.host,
    stats: metrics.webhooks,
    userAgent: 'regctl-test',
    maxBackoffMs: options.maxBackoffMs ?? 200,
  });
  reg = await startRegistry({ driver: 'memory', observers: [notifier.observer, metrics.observer], logger });
  const http = new RegistryHttp(reg.url);
  return {
    reg,
    http,
    notifier,
    metrics,
    logger,
    logs,
    async close() {
      await reg!.close();
      await notifier.close(1_000);
      await http.close();
    },
  };
}

/** The value of one sample of a metric (`series` picks `_count` or `_sum` of a histogram), 0 when absent. */
export async function sample(metrics: Metrics, name: string, labels: Record<string, string> = {}, series = name): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const found = values.find((v) => ((v as { metricName?: string }).metricName ?? name) === series && Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
  return found?.value ?? 0;
}
