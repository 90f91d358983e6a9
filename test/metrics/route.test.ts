import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { Registry } from '../../src/registry/registry.js';
import type { ServerOptions } from '../../src/server/app.js';
import type { MetricsSource } from '../../src/server/handlers/metrics.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import { expectError, RegistryHttp } from '../helpers/http.js';
import { startRegistry, startServer } from '../helpers/server.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

describe('GET /metrics on the registry port', () => {
  it('is 404 NOT_FOUND with a hint when the server runs without metrics', async () => {
    const reg = await startRegistry({ driver: 'memory' });
    const http = new RegistryHttp(reg.url);
    cleanup.push(async () => {
      await http.close();
      await reg.close();
    });
    expect(expectError(await http.get('/metrics'), 'NOT_FOUND', 404).message).toMatch(/regctl\.metrics: true/);
  });

  it('serves the registry given as ServerOptions.metrics to clients on this machine (admin access)', async () => {
    const metrics = await createMetrics({ processMetrics: false });
    const options: ServerOptions & { metrics: MetricsSource } = {
      registry: new Registry({ driver: new MemoryDriver() }),
      logger: silentLogger,
      readOnly: false,
      deleteEnabled: true,
      observers: [metrics.observer],
      metrics: metrics.registry,
    };
    const server = await startServer(options);
    const http = new RegistryHttp(server.url);
    cleanup.push(async () => {
      await http.close();
      await server.close();
    });
    expect((await http.get('/v2/')).status).toBe(200);
    const res = await http.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body.toString()).toContain('regctl_http_requests_total{route="base",method="GET",status="200"} 1');
  });
});
