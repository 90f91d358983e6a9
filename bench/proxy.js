// The pull-through cache: a pull through regctl's proxy (cold: fetched from the upstream and stored
// while streaming; cached: from the proxy's own store) against a direct pull from the upstream, a
// plain regctl on loopback. Both run in processes of their own, started from this file with --serve
// over the built dist/ and configured alike, so the difference is the proxy layer alone.
// Usage as part of `npm run bench` (benchProxy), or alone: node bench/proxy.js [--quick]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeBlob, pull, pushMonolithic } from './blobs.js';
import { loadManifest, makeImage, pushImage } from './manifests.js';

const MiB = 1024 * 1024;
const PREFIX = 'up';
const BLOB_REPO = 'bench/proxy-blobs';
const IMAGE_REPO = 'bench/proxy-image';
const TAG = 'latest';
const THIS_FILE = fileURLToPath(import.meta.url);
const READY_TIMEOUT_MS = 10_000;

/** @param {number[]} xs */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * A regctl in a child process: this file with --serve; a pull-through cache when given an upstream.
 * @param {string} root
 * @param {string} [upstreamUrl]
 */
async function startServer(root, upstreamUrl) {
  const args = [THIS_FILE, '--serve', root, ...(upstreamUrl ? [upstreamUrl] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: /** @type {import('node:stream').Readable} */ (child.stdout) });
  const timer = setTimeout(() => child.kill('SIGKILL'), READY_TIMEOUT_MS);
  const [line] = /** @type {[string]} */ (await Promise.race([once(lines, 'line'), exited.then(() => [''])]));
  clearTimeout(timer);
  if (!line) throw new Error('the bench server exited before it listened');
  return {
    url: /** @type {{ url: string }} */ (JSON.parse(line)).url,
    pid: /** @type {number} */ (child.pid),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * The child: serves `root`, as a pull-through cache of `upstreamUrl` for names under `up/` when given.
 * @param {string} root
 * @param {string | undefined} upstreamUrl
 */
async function serve(root, upstreamUrl) {
  const { ProxyRegistry } = await import('../dist/registry/proxy/registry.js');
  const { Registry } = await import('../dist/registry/registry.js');
  const { createRegistryServer } = await import('../dist/server/app.js');
  const { RequestScope } = await import('../dist/server/request-scope.js');
  const { FilesystemDriver } = await import('../dist/storage/filesystem.js');
  const { silentLogger } = await import('../dist/log/logger.js');
  const scope = new RequestScope();
  const deps = { driver: new FilesystemDriver(root) };
  const registry = upstreamUrl
    ? new ProxyRegistry(deps, { upstreams: [{ prefix: PREFIX, remoteUrl: upstreamUrl, ttlMs: 5 * 60_000 }] }, { logger: silentLogger, scope })
    : new Registry(deps);
  const server = createRegistryServer({ registry, logger: silentLogger, readOnly: false, deleteEnabled: true, scope });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => void registry.close().finally(() => process.exit(0)));
  });
}

/** @param {number} n */
const fmt = (n) => n.toFixed(n >= 100 ? 0 : n >= 10 ? 1 : 2);

/**
 * @param {{ quick: boolean, log: (line: string) => void }} options
 * @returns {Promise<string[]>} lines of the report
 */
export async function benchProxy({ quick, log }) {
  const blobSize = quick ? 32 * MiB : 128 * MiB;
  const rounds = quick ? 1 : 3;
  const loadSeconds = quick ? 2 : 5;
  const roots = await Promise.all([mkdtemp(join(tmpdir(), 'regctl-bench-upstream-')), mkdtemp(join(tmpdir(), 'regctl-bench-proxy-'))]);
  /** @type {{ stop: () => Promise<void> }[]} */
  const running = [];
  try {
    const upstream = await startServer(roots[0]);
    running.push(upstream);
    const proxy = await startServer(roots[1], upstream.url);
    running.push(proxy);
    log(`proxy: ${proxy.url} (pid ${proxy.pid}) in front of ${upstream.url} (pid ${upstream.pid})`);
    const mbps = (/** @type {number} */ s) => blobSize / 1e6 / s;
    /** @type {Record<'cold' | 'cached' | 'direct', number[]>} */
    const samples = { cold: [], cached: [], direct: [] };
    for (let round = 1; round <= rounds; round++) {
      const blob = makeBlob(blobSize);
      await pushMonolithic(upstream.url, BLOB_REPO, blob);
      samples.cold.push(mbps(await pull(proxy.url, `${PREFIX}/${BLOB_REPO}`, blob)));
      // Alternate which goes first, so neither always meets a warm page cache.
      const order = round % 2 ? ['cached', 'direct'] : ['direct', 'cached'];
      for (const which of order) {
        const base = which === 'cached' ? proxy.url : upstream.url;
        const repo = which === 'cached' ? `${PREFIX}/${BLOB_REPO}` : BLOB_REPO;
        samples[which].push(mbps(await pull(base, repo, blob)));
      }
      log(`proxy blob pull [${round}/${rounds}]  cold ${fmt(samples.cold.at(-1))}  cached ${fmt(samples.cached.at(-1))}  direct ${fmt(samples.direct.at(-1))} MB/s`);
    }
    const manifest = await pushImage(upstream.url, IMAGE_REPO, TAG, makeImage());
    const viaProxy = () => loadManifest(proxy.url, `${PREFIX}/${IMAGE_REPO}`, TAG, 'GET', loadSeconds, manifest);
    const direct = () => loadManifest(upstream.url, IMAGE_REPO, TAG, 'GET', loadSeconds, manifest);
    await loadManifest(proxy.url, `${PREFIX}/${IMAGE_REPO}`, TAG, 'GET', 1, manifest);
    /** @type {Record<'cached' | 'direct', number[]>} */
    const rps = { cached: [], direct: [] };
    for (let round = 1; round <= rounds; round++) {
      for (const which of round % 2 ? ['cached', 'direct'] : ['direct', 'cached']) {
        const l = await (which === 'cached' ? viaProxy() : direct());
        if (l.non2xx || l.errors || l.mismatches) throw new Error(`manifest GET ${which}: ${l.non2xx} non-2xx, ${l.errors} errors, ${l.mismatches} mismatches`);
        rps[which].push(l.rps);
      }
      log(`proxy manifest GET [${round}/${rounds}]  cached ${fmt(rps.cached.at(-1))}  direct ${fmt(rps.direct.at(-1))} req/s`);
    }

    const rows = [
      ['blob pull (MB/s)', median(samples.cached), median(samples.direct)],
      ['manifest GET by tag (req/s)', median(rps.cached), median(rps.direct)],
    ];
    const table = [
      ['pull-through cache', 'cached via proxy', 'direct upstream', 'proxy/direct'],
      ...rows.map(([label, cached, up]) => [String(label), fmt(Number(cached)), fmt(Number(up)), `${(Number(cached) / Number(up)).toFixed(2)}×`]),
      ['blob pull, cold (MB/s)', fmt(median(samples.cold)), '', ''],
    ];
    const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
    return [
      ...table.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')),
      `${blobSize / MiB} MiB blob, median of ${rounds} round(s); upstream = plain regctl, proxy = the same with a pull-through upstream, each its own process on loopback;` +
        ` cold = first pull (fetched, stored and streamed at once); manifest GET: fresh tag, ${loadSeconds} s per round.`,
    ];
  } finally {
    for (const r of running.reverse()) await r.stop().catch((error) => log(`proxy bench cleanup: ${error}`));
    await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
  }
}

if (process.argv[1] === THIS_FILE) {
  const { values, positionals } = parseArgs({ options: { serve: { type: 'boolean' }, quick: { type: 'boolean' } }, allowPositionals: true });
  if (values.serve) await serve(positionals[0], positionals[1]);
  else {
    const lines = await benchProxy({ quick: Boolean(values.quick), log: (line) => process.stderr.write(`${line}\n`) });
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}
