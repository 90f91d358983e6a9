// `regctl push` against `docker push`, and `regctl push --archive` against `skopeo copy docker-archive:`,
// of one 5 × 20 MiB image built FROM scratch, each push into a fresh registry (issue 4, Performance).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { skopeoMissing, timedRun } from './copy.js';
import { judge, renderTable } from './report.js';
import { call } from './http.js';
import { startRegctl } from './servers.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const MiB = 1024 * 1024;
export const PUSH_LAYERS = 5;
export const PUSH_LAYER_MiB = 20;
/** A push of 100 MiB over loopback takes seconds; one that takes this long is hung. */
const PUSH_TIMEOUT_MS = 180_000;
/** How often the temporary directory of `push --archive` is measured. */
const TEMP_POLL_MS = 25;
const ACCEPT = 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json';

/** @typedef {'regctl' | 'docker'} EngineTool */
/** @typedef {'regctl' | 'skopeo'} ArchiveTool */

/** @returns {string | undefined} why the comparison cannot run, or undefined when it can */
export function dockerMissing() {
  const probe = spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8', timeout: 5_000, stdio: ['ignore', 'pipe', 'pipe'] });
  if (/** @type {NodeJS.ErrnoException | undefined} */ (probe.error)?.code === 'ENOENT') return 'docker is not installed (apt-get install docker.io)';
  if (probe.status !== 0) return `no docker engine answers at ${process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock'}: ${(probe.stderr || String(probe.error)).trim().split('\n')[0]}`;
  return undefined;
}

/**
 * @param {string} command
 * @param {string[]} args
 * @param {NodeJS.ProcessEnv} [env]
 */
const timed = (command, args, env) => timedRun(command, args, { env, timeoutMs: PUSH_TIMEOUT_MS });

/** @param {string[]} args */
async function docker(...args) {
  await timed('docker', args);
}

/**
 * Bytes under `dir`, every file at any depth.
 * @param {string} dir
 * @returns {Promise<number>}
 */
async function bytesUnder(dir) {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await bytesUnder(path);
    else total += await stat(path).then((s) => s.size, () => 0);
  }
  return total;
}

/**
 * Times `work` while sampling how much it keeps under `dir`.
 * @param {string} dir
 * @param {() => Promise<number>} work seconds
 */
async function watchingTemp(dir, work) {
  let peak = 0;
  let sampling = Promise.resolve();
  const timer = setInterval(() => {
    sampling = sampling.then(async () => {
      peak = Math.max(peak, await bytesUnder(dir));
    });
  }, TEMP_POLL_MS);
  try {
    const seconds = await work();
    return { seconds, peak };
  } finally {
    clearInterval(timer);
    await sampling;
  }
}

/**
 * Builds the image in the engine: FROM scratch (the engine may have no internet), one COPY of
 * random bytes per layer, so nothing compresses and no layer is shared with anything else.
 * @param {string} context a fresh directory
 * @param {string} tag
 */
async function buildImage(context, tag) {
  const files = Array.from({ length: PUSH_LAYERS }, (_, i) => `layer-${i}.bin`);
  for (const file of files) await writeFile(join(context, file), randomBytes(PUSH_LAYER_MiB * MiB));
  await writeFile(join(context, 'Dockerfile'), ['FROM scratch', ...files.map((f) => `COPY ${f} /${f}`), ''].join('\n'));
  await timed('docker', ['build', '--quiet', '--tag', tag, context], { ...process.env, DOCKER_BUILDKIT: '0' });
}

/**
 * @param {string} url
 * @param {string} repo
 * @param {string} tag
 */
async function expectServed(url, repo, tag) {
  await call(`${url}/v2/${repo}/manifests/${tag}`, { method: 'HEAD', headers: { accept: ACCEPT }, expect: 200 });
}

/**
 * Each round pushes the same engine image with `regctl push` and with `docker tag` + `docker push`,
 * then its `docker save` archive with `regctl push --archive` and `skopeo copy`, every push into a
 * registry of its own started for it, tools in alternating order. Times run from spawn to exit.
 * @param {{ rounds: number, log: (line: string) => void, tempDir: (prefix: string) => Promise<string> }} options
 * @returns {Promise<{ engine: Record<EngineTool, number[]>, archive: Record<ArchiveTool, number[]>, archiveTempPeak: number[] } | { skipped: string }>}
 */
export async function measurePush({ rounds, log, tempDir }) {
  const missing = dockerMissing() ?? skopeoMissing();
  if (missing) return { skipped: missing };
  const image = `regctl-bench/push-${randomBytes(4).toString('hex')}:latest`;
  const work = await tempDir('push-bench-');
  await buildImage(await mkdtemp(join(work, 'context-')), image);
  try {
    const archive = join(work, 'image.tar');
    await docker('save', '--output', archive, image);
    /** @type {Record<EngineTool, number[]>} */
    const engine = { regctl: [], docker: [] };
    /** @type {Record<ArchiveTool, number[]>} */
    const archived = { regctl: [], skopeo: [] };
    /** @type {number[]} */
    const archiveTempPeak = [];
    const label = `${PUSH_LAYERS} × ${PUSH_LAYER_MiB} MiB`;

    /**
     * @param {(host: string) => Promise<number>} push seconds
     * @param {string} repo
     */
    async function intoFreshRegistry(push, repo) {
      const registry = await startRegctl(await mkdtemp(join(work, 'registry-')));
      try {
        const seconds = await push(new URL(registry.url).host);
        await expectServed(registry.url, repo, 'latest');
        return seconds;
      } finally {
        await registry.stop();
      }
    }

    for (let round = 1; round <= rounds; round++) {
      /** @type {EngineTool[]} */
      const order = round % 2 ? ['regctl', 'docker'] : ['docker', 'regctl'];
      for (const tool of order) {
        const seconds = await intoFreshRegistry(async (host) => {
          const remote = `${host}/bench/push:latest`;
          try {
            if (tool === 'regctl') return await timed(process.execPath, ['bin/regctl.js', 'push', image, '--as', 'bench/push', '--registry', host]);
            // What a user types: the tag is part of pushing with docker.
            const started = performance.now();
            await docker('tag', image, remote);
            await docker('push', '--quiet', remote);
            return (performance.now() - started) / 1000;
          } finally {
            await docker('rmi', remote).catch(() => undefined);
          }
        }, 'bench/push');
        engine[tool].push(seconds);
        log(`${`push ${label} [${round}/${rounds}]`.padEnd(32)} ${tool.padEnd(6)} ${seconds.toFixed(2)} s`);
      }
      /** @type {ArchiveTool[]} */
      const archiveOrder = round % 2 ? ['regctl', 'skopeo'] : ['skopeo', 'regctl'];
      for (const tool of archiveOrder) {
        const seconds = await intoFreshRegistry(async (host) => {
          const target = `${host}/bench/archive:latest`;
          if (tool === 'skopeo') {
            return timed('skopeo', ['--insecure-policy', 'copy', '--dest-tls-verify=false', `docker-archive:${archive}`, `docker://${target}`]);
          }
          const temp = await mkdtemp(join(work, 'tmp-'));
          const { seconds, peak } = await watchingTemp(temp, () =>
            timed(process.execPath, ['bin/regctl.js', 'push', '--archive', archive, target], { ...process.env, TMPDIR: temp }),
          );
          archiveTempPeak.push(peak);
          await rm(temp, { recursive: true, force: true });
          return seconds;
        }, 'bench/archive');
        archived[tool].push(seconds);
        log(`${`push --archive ${label} [${round}/${rounds}]`.padEnd(32)} ${tool.padEnd(6)} ${seconds.toFixed(2)} s`);
      }
    }
    return { engine, archive: archived, archiveTempPeak };
  } finally {
    await docker('rmi', image).catch(() => undefined);
  }
}

/** Seconds, so lower is better: the target is a ceiling on regctl/other. */
const ENGINE_METRICS = [{ key: 'push', label: `push ${PUSH_LAYERS} × ${PUSH_LAYER_MiB} MiB via the engine (s)`, target: { maxRatio: 1 } }];
const ARCHIVE_METRICS = [{ key: 'archive', label: `push --archive ${PUSH_LAYERS} × ${PUSH_LAYER_MiB} MiB (s)`, target: { maxRatio: 1 } }];

/**
 * The whole comparison for `npm run bench`: measures, and returns the lines of its report.
 * @param {{ rounds: number, log: (line: string) => void, tempDir: (prefix: string) => Promise<string> }} options
 * @returns {Promise<string[]>}
 */
export async function benchPush({ rounds, log, tempDir }) {
  const measured = await measurePush({ rounds, log, tempDir });
  if ('skipped' in measured) return [`push vs docker/skopeo skipped: ${measured.skipped}.`];
  const medians = (/** @type {Record<string, number[]>} */ samples) => Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
  const engineRows = judge({ push: medians(measured.engine) }, ENGINE_METRICS, 'docker');
  const archiveRows = judge({ archive: medians(measured.archive) }, ARCHIVE_METRICS, 'skopeo');
  const peakMiB = Math.max(...measured.archiveTempPeak) / MiB;
  return [
    renderTable(engineRows, 'docker'),
    '',
    renderTable(archiveRows, 'skopeo'),
    '',
    `push: median of ${rounds} round(s), seconds from spawn to exit (docker: tag + push), each push into a fresh regctl serve.`,
    `push --archive: peak temporary space ${peakMiB.toFixed(0)} MiB for a ${PUSH_LAYERS * PUSH_LAYER_MiB} MiB image.`,
  ];
}

/** @param {number[]} xs */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
