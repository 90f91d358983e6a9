import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { createMetrics, type Metrics } from '../../src/metrics/metrics.js';
import { startDebugServer } from '../../src/metrics/debug-server.js';
import { ContentCache } from '../../src/registry/cache.js';
import { collectGarbage } from '../../src/registry/gc/collect.js';
import { GcCoordinator } from '../../src/registry/gc/coordinator.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import { buildImage, randomBlob, uniqueRepo } from '../helpers/fixtures.js';
import { blobPath, expectResponse, finishUpload, manifestPath, patchChunk, pushBlob, pushImage, sleep, startUpload, RegistryHttp } from '../helpers/http.js';
import { startRegistry, type TestRegistry } from '../helpers/server.js';
import { sample } from '../events/harness.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

async function registryWith(metrics: Metrics): Promise<{ reg: TestRegistry; http: RegistryHttp }> {
  const reg = await startRegistry({ driver: 'memory', observers: [metrics.observer] });
  const http = new RegistryHttp(reg.url);
  cleanup.push(async () => {
    await http.close();
    await reg.close();
  });
  return { reg, http };
}

describe('metrics', () => {
  it('counts requests by route, method and status, bytes both ways, and times uploads from start to finish', async () => {
    const metrics = await createMetrics({ processMetrics: false });
    const { http } = await registryWith(metrics);
    const repo = uniqueRepo('metrics');
    const image = buildImage({ layers: 1, layerSize: 5000 });
    await pushImage(http, repo, image, 'v1');
    const chunked = randomBlob(20_000);
    const { location } = await startUpload(http, repo);
    expectResponse(await patchChunk(http, location, chunked.data.subarray(0, 10_000), { start: 0 }), { status: 202 });
    await sleep(120);
    expectResponse(await finishUpload(http, location, chunked.digest, chunked.data.subarray(10_000)), { status: 201 });
    expectResponse(await http.get(manifestPath(repo, 'v1'), { headers: { accept: image.manifest.mediaType } }), { status: 200 });
    expectResponse(await http.get(blobPath(repo, chunked.digest)), { status: 200 });
    expectResponse(await http.get(manifestPath(repo, 'nope')), { status: 404 });
    await sleep(20); // observers run when the response has closed

    const requests = (labels: Record<string, string>) => sample(metrics, 'regctl_http_requests_total', labels);
    expect(await requests({ route: 'manifest', method: 'GET', status: '200' })).toBe(1);
    expect(await requests({ route: 'manifest', method: 'GET', status: '404' })).toBe(1);
    expect(await requests({ route: 'manifest', method: 'PUT', status: '201' })).toBe(1);
    expect(await requests({ route: 'upload-start', method: 'POST', status: '201' })).toBe(2);
    expect(await requests({ route: 'upload', method: 'PATCH', status: '202' })).toBe(1);
    expect(await sample(metrics, 'regctl_http_request_duration_seconds', { route: 'manifest', method: 'GET' }, 'regctl_http_request_duration_seconds_count')).toBe(2);
    expect(await sample(metrics, 'regctl_http_sent_bytes_total', { route: 'blob' })).toBe(20_000);

    // Two monolithic uploads (config, layer) and one chunked, measured from its POST to its PUT.
    expect(await sample(metrics, 'regctl_blob_upload_duration_seconds', {}, 'regctl_blob_upload_duration_seconds_count')).toBe(3);
    expect(await sample(metrics, 'regctl_blob_upload_duration_seconds', {}, 'regctl_blob_upload_duration_seconds_sum')).toBeGreaterThanOrEqual(0.12);
    // The PATCH and PUT bodies (20 000 bytes) with their headers.
    expect(await sample(metrics, 'regctl_http_received_bytes_total', { route: 'upload' })).toBeGreaterThan(20_000);
  });

  it('counts manifest cache hits and misses, and collections run inside the server', async () => {
    const metrics = await createMetrics({ processMetrics: false });
    const cache = new ContentCache(1024, metrics.cache);
    cache.get('sha256:x');
    cache.set('sha256:x', { digest: 'sha256:x', mediaType: 'm', body: Buffer.from('{}') });
    cache.get('sha256:x');
    cache.get('sha256:x');
    expect(await sample(metrics, 'regctl_manifest_cache_requests_total', { result: 'miss' })).toBe(1);
    expect(await sample(metrics, 'regctl_manifest_cache_requests_total', { result: 'hit' })).toBe(2);

    const coordinator = new GcCoordinator(metrics.gcRun);
    await collectGarbage(new MemoryDriver(), { dryRun: false, deleteUntagged: false, graceMs: 0, uploadsOlderThanMs: 0 }, coordinator);
    await collectGarbage(new MemoryDriver(), { dryRun: true, deleteUntagged: false, graceMs: 0, uploadsOlderThanMs: 0 }, coordinator);
    expect(await sample(metrics, 'regctl_gc_runs_total')).toBe(2);
    expect(await sample(metrics, 'regctl_gc_duration_seconds', {}, 'regctl_gc_duration_seconds_count')).toBe(2);
  });

  it('two sets of metrics in one process keep apart (no global registry)', async () => {
    const a = await createMetrics({ processMetrics: false });
    const b = await createMetrics();
    a.cache.hit();
    expect(await sample(a, 'regctl_manifest_cache_requests_total', { result: 'hit' })).toBe(1);
    expect(await sample(b, 'regctl_manifest_cache_requests_total', { result: 'hit' })).toBe(0);
    expect(await b.registry.metrics()).toContain('process_cpu_user_seconds_total');
    expect(await a.registry.metrics()).not.toContain('process_cpu_user_seconds_total');
  });
});

describe('debug listener (http.debug.addr): /metrics and /healthz on their own address', () => {
  it('serves the Prometheus text format and the health check, nothing else', async () => {
    const metrics = await createMetrics({ processMetrics: false });
    const { reg, http } = await registryWith(metrics);
    await pushBlob(http, uniqueRepo('debug'), randomBlob(10));
    await sleep(20);
    const debug = await startDebugServer({ addr: '127.0.0.1:0', driver: reg.driver, metrics: metrics.registry, logger: silentLogger });
    cleanup.push(() => debug.close());
    const scrape = await fetch(`${debug.url}/metrics`);
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await scrape.text()).toContain('regctl_http_requests_total{route="upload-start",method="POST",status="201"} 1');
    const health = await fetch(`${debug.url}/healthz`);
    expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }]);
    expect((await fetch(`${debug.url}/v2/`)).status).toBe(404);
    expect((await fetch(`${debug.url}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('without metrics, /metrics is 404 there; a taken address is an error', async () => {
    const debug = await startDebugServer({ addr: '127.0.0.1:0', driver: new MemoryDriver(), logger: silentLogger });
    cleanup.push(() => debug.close());
    expect((await fetch(`${debug.url}/metrics`)).status).toBe(404);
    await expect(startDebugServer({ addr: debug.url.slice('http://'.length), driver: new MemoryDriver(), logger: silentLogger })).rejects.toThrow(/EADDRINUSE/);
  });
});
