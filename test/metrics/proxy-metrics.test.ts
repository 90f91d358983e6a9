import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startServe } from '../../src/commands/serve.js';
import { defaultServeConfig } from '../../src/config/defaults.js';
import { silentLogger } from '../../src/log/logger.js';
import { createMetrics, type Metrics } from '../../src/metrics/metrics.js';
import { buildImage, uniqueRepo } from '../helpers/fixtures.js';
import { blobPath, manifestPath, pushImage, RegistryHttp } from '../helpers/http.js';
import { sample } from '../events/harness.js';
import { startProxy, startUpstream, type TestProxy, type TestUpstream } from '../registry/proxy-harness.js';

const TTL = 60_000;
const SERIES = ['manifest', 'blob'].flatMap((kind) => ['hit', 'revalidated', 'miss', 'stale'].map((result) => `${kind} ${result}`));

/** Every series of regctl_proxy_requests_total, absent ones as 0, so a step shows all it changed. */
async function counts(metrics: Metrics): Promise<Record<string, number>> {
  const entries = await Promise.all(
    SERIES.map(async (series) => {
      const [kind, result] = series.split(' ') as [string, string];
      return [series, await sample(metrics, 'regctl_proxy_requests_total', { kind, result })] as const;
    }),
  );
  return Object.fromEntries(entries);
}

describe('pull-through cache metrics', () => {
  let upstream: TestUpstream;
  let proxy: TestProxy;
  let metrics: Metrics;
  let up: RegistryHttp;
  let http: RegistryHttp;
  let upstreamStopped: boolean;

  beforeEach(async () => {
    metrics = await createMetrics({ processMetrics: false });
    upstream = await startUpstream();
    upstreamStopped = false;
    proxy = await startProxy([{ prefix: 'up.example', remoteUrl: upstream.url, ttlMs: TTL, cacheTtlMs: 10 * TTL }], { stats: metrics.proxy });
    up = new RegistryHttp(upstream.url);
    http = new RegistryHttp(proxy.url);
  });
  afterEach(async () => {
    await Promise.all([up.close(), http.close()]);
    await proxy.close();
    if (!upstreamStopped) await upstream.stop();
  });

  it('counts each request once: miss, hit, revalidated after the TTL, stale with the upstream down', async () => {
    const repo = uniqueRepo('proxied');
    const image = buildImage({ layers: 1, layerSize: 4096 });
    await pushImage(up, repo, image, 'v1');
    const layer = image.blobs[1]!;
    const tag = manifestPath(`up.example/${repo}`, 'v1');
    const blob = blobPath(`up.example/${repo}`, layer.digest);
    const expected = Object.fromEntries(SERIES.map((series) => [series, 0]));
    const step = async (request: () => Promise<{ status: number }>, series: string): Promise<void> => {
      expect((await request()).status).toBe(200);
      expected[series]! += 1;
      expect(await counts(metrics)).toEqual(expected);
    };

    await step(() => http.get(tag), 'manifest miss');
    await step(() => http.get(tag), 'manifest hit');
    await step(() => http.get(blob), 'blob miss');
    await step(() => http.get(blob), 'blob hit');
    await step(() => http.head(blob), 'blob hit');
    await step(() => http.get(manifestPath(`up.example/${repo}`, image.manifest.digest)), 'manifest hit');

    proxy.advance(TTL + 1);
    await step(() => http.get(tag), 'manifest revalidated');
    await step(() => http.get(tag), 'manifest hit');

    await upstream.stop();
    upstreamStopped = true;
    proxy.advance(TTL + 1);
    await step(() => http.get(tag), 'manifest stale');
  });

  it('counts every client of a shared upstream fetch, and nothing for names it does not proxy', async () => {
    const repo = uniqueRepo('proxied');
    const image = buildImage({ layers: 1, layerSize: 4096 });
    await pushImage(up, repo, image, 'v1');
    const clients = 5;
    const pulls = await Promise.all(Array.from({ length: clients }, () => http.get(manifestPath(`up.example/${repo}`, 'v1'))));
    expect(pulls.map((r) => r.status)).toEqual(Array(clients).fill(200));
    expect(upstream.requests.filter((r) => r.route === 'manifest' && r.method === 'GET' && r.repo === repo)).toHaveLength(1);
    expect(await sample(metrics, 'regctl_proxy_requests_total', { kind: 'manifest', result: 'miss' })).toBe(clients);

    const local = uniqueRepo('local');
    await pushImage(http, local, image, 'v1');
    expect((await http.get(manifestPath(local, 'v1'))).status).toBe(200);
    expect((await http.get(blobPath(local, image.blobs[1]!.digest))).status).toBe(200);
    expect(Object.values(await counts(metrics)).reduce((a, b) => a + b)).toBe(clients);
  });

  it('is wired into serve: /metrics shows the pull-through requests', async () => {
    const repo = uniqueRepo('proxied');
    const image = buildImage({ layers: 1, layerSize: 4096 });
    await pushImage(up, repo, image, 'v1');
    const root = await mkdtemp(join(tmpdir(), 'regctl-proxy-metrics-'));
    const config = defaultServeConfig({});
    config.http.addr = '127.0.0.1:0';
    config.storage = { ...config.storage, driver: 'filesystem', rootDirectory: root };
    config.regctl.metrics = true;
    config.proxy.upstreams = [{ prefix: 'up.example', remoteUrl: upstream.url, ttlMs: TTL }];
    const served = await startServe(config, silentLogger, {});
    const client = new RegistryHttp(served.url);
    try {
      for (let i = 0; i < 2; i++) expect((await client.get(manifestPath(`up.example/${repo}`, 'v1'))).status).toBe(200);
      const text = (await client.get('/metrics')).body.toString();
      expect(text).toContain('regctl_proxy_requests_total{kind="manifest",result="miss"} 1');
      expect(text).toContain('regctl_proxy_requests_total{kind="manifest",result="hit"} 1');
    } finally {
      await client.close();
      await served.stop();
      await rm(root, { recursive: true, force: true });
    }
  });
});
