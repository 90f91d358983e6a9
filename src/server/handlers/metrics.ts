import { NotFound } from '../../oci/errors.js';
import type { Handler, Reply } from '../types.js';

/** What `/metrics` renders; a prom-client Registry is one. */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export async function metricsReply(source: MetricsSource): Promise<Reply> {
  return { status: 200, headers: { 'Content-Type': source.contentType, 'Cache-Control': 'no-store' }, body: await source.metrics() };
}

/** GET /metrics: Prometheus text format, when the server was started with metrics. */
export const metricsHandler: Handler = async ({ metrics: source }) => {
  if (!source) throw new NotFound('metrics are off on this registry (regctl.metrics: true in the config turns them on)');
  return metricsReply(source);
};
