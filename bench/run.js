// `npm run bench`: regctl serve against the CNCF registry, side by side in one run (issue 2, Performance).
// Usage: node bench/run.js [--quick] [--json]
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeBlob, pull, pushChunked, pushMonolithic } from './blobs.js';
import { measureCopy, skopeoMissing } from './copy.js';
import { CONNECTIONS, loadManifest, makeImage, pushImage, putManifests } from './manifests.js';
import { benchGc } from './gc.js';
import { COPY_METRICS, gcMetrics, judge, renderTable } from './report.js';
import { rssMonitor } from './rss.js';
import { benchS3 } from './s3.js';
import { startCncf, startRegctl } from './servers.js';

const MiB = 1024 * 1024;
const REPO = 'bench/blobs';
const IMAGE_REPO = 'bench/image';
const TAG = 'latest';
/** Cleanup steps each get this long, so a wedged server cannot keep the bench from exiting. */
const CLEANUP_STEP_MS = 15_000;

const { values: flags } = parseArgs({ options: { quick: { type: 'boolean' }, json: { type: 'boolean' } } });
const settings = flags.quick
  ? { blobSize: 32 * MiB, chunkSize: 16 * MiB, rounds: 1, loadSeconds: 2, putSeconds: 2, gcStore: { manifests: 1000, blobs: 5000, repositories: 20 } }
  : { blobSize: 256 * MiB, chunkSize: 16 * MiB, rounds: 3, loadSeconds: 10, putSeconds: 5, gcStore: { manifests: 10_000, blobs: 50_000, repositories: 100 } };

/** @param {string} message */
const log = (message) => process.stderr.write(`${message}\n`);

/** @type {(() => Promise<unknown>)[]} */
const cleanups = [];
/** @type {Promise<void> | undefined} */
let cleaning;
function cleanUp() {
  cleaning ??= (async () => {
    for (const step of cleanups.reverse()) {
      /** @type {NodeJS.Timeout | undefined} */
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('cleanup step timed out')), CLEANUP_STEP_MS);
      });
      await Promise.race([step(), timeout]).catch((error) => log(`cleanup: ${error}`));
      clearTimeout(timer);
    }
  })();
  return cleaning;
}
for (const [signal, code] of /** @type {const} */ ([['SIGINT', 130], ['SIGTERM', 143]])) {
  process.once(signal, () => {
    log(`\n${signal}: stopping the registries and removing their roots`);
    void cleanUp().finally(() => process.exit(code));
  });
}

/**
 * @param {string} prefix
 * @param {boolean} [absolute] the prefix is already a full path
 */
async function tempDir(prefix, absolute = false) {
  const dir = await mkdtemp(absolute ? prefix : join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * @template T
 * @param {Record<string, T>} byName
 * @param {(value: T) => number} f
 */
const mapValues = (byName, f) => Object.fromEntries(Object.entries(byName).map(([name, v]) => [name, f(v)]));

/** @param {number[]} xs */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Into fresh destinations, one per tool, so neither copy finds blobs the other wrote.
 * @param {string} source
 */
async function copyAgainstSkopeo(source) {
  const regctlTarget = await startRegctl(await tempDir('copy-regctl-'));
  cleanups.push(regctlTarget.stop);
  const skopeoTarget = await startRegctl(await tempDir('copy-skopeo-'));
  cleanups.push(skopeoTarget.stop);
  return measureCopy({ source, targets: { regctl: regctlTarget.url, skopeo: skopeoTarget.url }, rounds: settings.rounds, log });
}

async function main() {
  const loadAtStart = loadavg()[0];
  const regctl = await startRegctl(await tempDir('regctl-bench-'));
  cleanups.push(regctl.stop);
  const cncf = await startCncf(await tempDir('cncf-bench-'));
  if (!('skipped' in cncf)) cleanups.push(cncf.stop);
  const registries = 'skipped' in cncf ? [regctl] : [regctl, cncf];
  for (const r of registries) log(`${r.name}: ${r.url} (pid ${r.pid})`);
  const rss = rssMonitor(regctl.pid);

  let measurement = 0;
  /**
   * One measurement on every registry, the order flipping each time so that neither always goes first
   * (page cache, CPU frequency and disk writeback then favour both alike).
   * @template T
   * @param {string} label
   * @param {(registry: import('./servers.js').Registry) => Promise<T>} work
   * @param {(result: T) => string} describe
   */
  async function onEach(label, work, describe) {
    const order = measurement++ % 2 ? [...registries].reverse() : registries;
    /** @type {Record<string, T>} */
    const results = {};
    for (const registry of order) {
      results[registry.name] = await work(registry);
      log(`${label.padEnd(32)} ${registry.name.padEnd(6)} ${describe(results[registry.name])}`);
    }
    return results;
  }

  /** @type {Record<string, Record<string, number[]>>} */
  const throughput = { pushMonolithic: {}, pushChunked: {}, pull: {} };
  /**
   * @param {keyof typeof throughput} key
   * @param {string} label
   * @param {(registry: import('./servers.js').Registry) => Promise<number>} timed seconds
   */
  async function measureThroughput(key, label, timed) {
    const seconds = await onEach(label, timed, (s) => `${(settings.blobSize / 1e6 / s).toFixed(1)} MB/s`);
    for (const [name, s] of Object.entries(seconds)) {
      (throughput[key][name] ??= []).push(settings.blobSize / 1e6 / s);
    }
  }
  /** @param {import('./servers.js').Registry} registry @param {() => Promise<number>} upload */
  const watched = (registry, upload) => (registry === regctl ? rss.during(upload) : upload());

  for (let round = 1; round <= settings.rounds; round++) {
    const tag = `[${round}/${settings.rounds}]`;
    const whole = makeBlob(settings.blobSize);
    const chunked = makeBlob(settings.blobSize);
    await measureThroughput('pushMonolithic', `blob push monolithic ${tag}`, (r) =>
      watched(r, () => pushMonolithic(r.url, REPO, whole)),
    );
    await measureThroughput('pushChunked', `blob push chunked ${tag}`, (r) =>
      watched(r, () => pushChunked(r.url, REPO, chunked, settings.chunkSize)),
    );
    await measureThroughput('pull', `blob pull ${tag}`, (r) => pull(r.url, REPO, whole));
  }
  const memory = rss.peak();

  const image = makeImage();
  const manifests = await onEach('push image', (r) => pushImage(r.url, IMAGE_REPO, TAG, image), () => 'ok');
  /** @param {import('./manifests.js').LoadResult} l */
  const describeLoad = (l) =>
    `${l.rps.toFixed(0)} req/s (${l.errors} errors, ${l.timeouts} timeouts, ${l.non2xx} non-2xx, ${l.mismatches} mismatches)`;
  const get = await onEach(
    'manifest GET',
    (r) => loadManifest(r.url, IMAGE_REPO, TAG, 'GET', settings.loadSeconds, manifests[r.name]),
    describeLoad,
  );
  const head = await onEach(
    'manifest HEAD',
    (r) => loadManifest(r.url, IMAGE_REPO, TAG, 'HEAD', settings.loadSeconds, manifests[r.name]),
    describeLoad,
  );
  const put = await onEach(
    'manifest PUT',
    (r) => putManifests(r.url, IMAGE_REPO, manifests[r.name], settings.putSeconds),
    (p) => `${p.rps.toFixed(0)} PUT/s (${p.puts} puts, ${p.failures} failures)${p.firstFailure ? `: ${p.firstFailure}` : ''}`,
  );

  // tmpfs where there is one: creating 50,000 files on this machine's disk takes minutes, on tmpfs seconds.
  const gcWork = await tempDir(existsSync('/dev/shm') ? '/dev/shm/regctl-gc-' : join(tmpdir(), 'regctl-gc-'), true);
  log(`gc: generating ${settings.gcStore.manifests} manifests and ${settings.gcStore.blobs} blobs in ${gcWork}`);
  const gcSeconds = await benchGc(gcWork, settings.gcStore, !('skipped' in cncf));
  log(`gc: regctl ${gcSeconds.regctl.toFixed(2)} s${gcSeconds.cncf === undefined ? '' : `, cncf ${gcSeconds.cncf.toFixed(2)} s`}`);
  const gcLabel = `gc, ${settings.gcStore.manifests.toLocaleString('en')} manifests / ${settings.gcStore.blobs.toLocaleString('en')} blobs (s)`;
  const gcRows = judge({ gc: { regctl: gcSeconds.regctl, cncf: gcSeconds.cncf } }, gcMetrics(gcLabel));

  const skopeoSkipped = skopeoMissing();
  const copySeconds = skopeoSkipped ? undefined : await copyAgainstSkopeo(regctl.url);
  const copyRows = copySeconds ? judge({ copy: mapValues(copySeconds, median) }, COPY_METRICS, 'skopeo') : [];

  /** @param {Record<string, number>} byName */
  const columns = (byName) => ({ regctl: byName.regctl, cncf: byName.cncf });
  const rows = judge({
    pushMonolithic: columns(mapValues(throughput.pushMonolithic, median)),
    pushChunked: columns(mapValues(throughput.pushChunked, median)),
    pull: columns(mapValues(throughput.pull, median)),
    manifestGet: columns(mapValues(get, (l) => l.rps)),
    manifestHead: columns(mapValues(head, (l) => l.rps)),
    manifestPut: columns(mapValues(put, (p) => p.rps)),
    peakRss: { regctl: memory.maxRss / MiB },
  });

  // The S3, pull-through and engine-push comparisons report their own tables.
  const sections = {
    s3: await benchS3({ quick: Boolean(flags.quick), log }),
    proxy: await (await import('./proxy.js')).benchProxy({ quick: Boolean(flags.quick), log }),
    push: await (await import('./push.js')).benchPush({ rounds: settings.rounds, log, tempDir }),
  };

  if (flags.json) {
    const report = {
      sections,
      settings,
      cncf: 'skipped' in cncf ? { skipped: cncf.skipped } : { url: cncf.url },
      rows,
      samples: throughput,
      load: { get, head, put },
      copy: copySeconds ? { rows: copyRows, samples: copySeconds } : { skipped: skopeoSkipped },
      gc: { rows: gcRows, store: settings.gcStore, seconds: gcSeconds },
      regctlMemory: { maxVmRSS: memory.maxRss, vmHWM: memory.hwm },
      loadAverage: { start: loadAtStart, end: loadavg()[0], cpus: availableParallelism() },
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const lines = [
    '',
    renderTable(rows),
    '',
    renderTable(gcRows),
    '',
    ...(copyRows.length ? [renderTable(copyRows, 'skopeo'), ''] : []),
    `${settings.blobSize / MiB} MiB blobs, median of ${settings.rounds} round(s); MB = 10^6 bytes; ` +
      `GET/HEAD: ${CONNECTIONS} connections × ${settings.loadSeconds} s, 2xx replies only; PUT: ${settings.putSeconds} s.`,
    `regctl VmHWM after the blob phase: ${(memory.hwm / MiB).toFixed(1)} MiB.`,
    // Other work on the machine skews both columns, unevenly: say so next to the figures.
    `1-min load average ${loadAtStart.toFixed(1)} at start, ${loadavg()[0].toFixed(1)} at end, on ${availableParallelism()} CPUs.`,
  ];
  if ('skipped' in cncf) lines.push(`CNCF column skipped: ${cncf.skipped}.`);
  if (copySeconds) lines.push(`copy: median of ${settings.rounds} round(s), seconds from spawn to exit, each tool into its own fresh registry.`);
  else lines.push(`copy vs skopeo skipped: ${skopeoSkipped}.`);
  for (const section of Object.values(sections)) lines.push('', ...section);
  process.stdout.write(`${lines.join('\n')}\n`);
}

try {
  await main();
} catch (error) {
  log(`bench failed: ${error instanceof Error ? error.stack : error}`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
