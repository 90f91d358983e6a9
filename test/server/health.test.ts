import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { Registry } from '../../src/registry/registry.js';
import { checkHealth } from '../../src/server/handlers/health.js';
import { StorageBackendError, type FileInfo } from '../../src/storage/driver.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import { json, RegistryHttp } from '../helpers/http.js';
import { startRegistry, startServer } from '../helpers/server.js';

class BrokenDriver extends MemoryDriver {
  override stat(path: string): Promise<FileInfo> {
    return Promise.reject(new StorageBackendError('disk gone', path));
  }
}

class SilentDriver extends MemoryDriver {
  override stat(): Promise<FileInfo> {
    return new Promise(() => {});
  }
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

async function serve(driver: MemoryDriver): Promise<RegistryHttp> {
  const server = await startServer({ registry: new Registry({ driver, linkCacheTtlMs: 0 }), logger: silentLogger, readOnly: false, deleteEnabled: true });
  const http = new RegistryHttp(server.url);
  cleanup.push(async () => {
    await http.close();
    await server.close();
  });
  return http;
}

describe('GET /healthz', () => {
  it('200 {"status":"ok"} when storage answers, an empty store included; HEAD too', async () => {
    for (const driver of ['memory', 'filesystem'] as const) {
      const reg = await startRegistry({ driver });
      cleanup.push(() => reg.close());
      const http = new RegistryHttp(reg.url);
      cleanup.push(() => http.close());
      const res = await http.get('/healthz');
      expect(res.status, driver).toBe(200);
      expect(res.headers['content-type']).toBe('application/json');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(json(res)).toEqual({ status: 'ok' });
      const head = await http.head('/healthz');
      expect(head.status).toBe(200);
      expect(head.body.length).toBe(0);
    }
  });

  it('503 with the reason when storage fails', async () => {
    const http = await serve(new BrokenDriver());
    const res = await http.get('/healthz');
    expect(res.status).toBe(503);
    expect(json(res)).toEqual({ status: 'unavailable', reason: 'storage: disk gone' });
  });

  it('unhealthy when storage does not answer within the bound', async () => {
    const started = performance.now();
    expect(await checkHealth(new SilentDriver(), 100)).toEqual({ ok: false, reason: 'storage did not answer within 100 ms' });
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
