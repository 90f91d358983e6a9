// `regctl copy` against `skopeo copy` of the same image between local registries (issue 3, Performance).
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { pushMonolithic } from './blobs.js';
import { call } from './http.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const MiB = 1024 * 1024;
export const COPY_LAYERS = 5;
export const COPY_LAYER_MiB = 20;
const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
/** A copy of 100 MiB over loopback takes seconds; one that takes this long is hung. */
const COPY_TIMEOUT_MS = 120_000;

/** @typedef {'regctl' | 'skopeo'} Tool */

/** @returns {string | undefined} why the comparison cannot run, or undefined when it can */
export function skopeoMissing() {
  const probe = spawnSync('skopeo', ['--version'], { encoding: 'utf8', timeout: 5_000, stdio: ['ignore', 'pipe', 'pipe'] });
  if (/** @type {NodeJS.ErrnoException | undefined} */ (probe.error)?.code === 'ENOENT') return 'skopeo is not installed (apt-get install skopeo)';
  if (probe.status !== 0) return `skopeo --version failed: ${(probe.stderr || String(probe.error)).trim()}`;
  return undefined;
}

/** @param {Buffer | string} bytes */
const sha256 = (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/**
 * Pushes an image of random layers. They are real gzip streams (stored, level 0, so building them is
 * cheap): skopeo would otherwise compress "uncompressed" layers on the way, and copy something else.
 * @param {string} base
 * @param {string} repo
 * @param {string} tag
 * @returns {Promise<string>} the manifest digest
 */
async function pushRandomImage(base, repo, tag) {
  const plain = Array.from({ length: COPY_LAYERS }, () => randomBytes(COPY_LAYER_MiB * MiB));
  const layers = plain.map((bytes) => gzipSync(bytes, { level: 0 }));
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: plain.map(sha256) } }),
  );
  const descriptor = (/** @type {string} */ mediaType, /** @type {Buffer} */ bytes) => ({ mediaType, digest: sha256(bytes), size: bytes.length });
  for (const bytes of [config, ...layers]) await pushMonolithic(base, repo, { size: bytes.length, digest: sha256(bytes), pattern: bytes });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST_TYPE,
    config: descriptor('application/vnd.oci.image.config.v1+json', config),
    layers: layers.map((bytes) => descriptor('application/vnd.oci.image.layer.v1.tar+gzip', bytes)),
  });
  await call(`${base}/v2/${repo}/manifests/${tag}`, { method: 'PUT', headers: { 'content-type': MANIFEST_TYPE }, body: manifest, expect: 201 });
  return sha256(manifest);
}

/** @type {Record<Tool, (from: string, to: string) => [string, string[]]>} */
const COMMANDS = {
  // Spawned like users run it, so start-up is part of the time, as it is for skopeo.
  regctl: (from, to) => [process.execPath, ['bin/regctl.js', 'copy', from, to]],
  // --insecure-policy: a fresh machine may have no /etc/containers/policy.json.
  skopeo: (from, to) => [
    'skopeo',
    ['--insecure-policy', 'copy', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${from}`, `docker://${to}`],
  ],
};

/**
 * Runs a command to completion and times it; a failure or a hang (past `timeoutMs`) rejects with its stderr.
 * @param {string} command
 * @param {string[]} args
 * @param {{ env?: NodeJS.ProcessEnv, timeoutMs?: number }} [options]
 * @returns {Promise<number>} seconds
 */
export function timedRun(command, args, { env = process.env, timeoutMs = COPY_TIMEOUT_MS } = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-2000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      if (code === 0) resolve(seconds);
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? code}): ${stderr.trim()}`));
    });
  });
}

/**
 * Each round pushes a new image to `source` and copies it with both tools, each into its own fresh
 * registry (so neither finds the other's blobs), in alternating order; every copy must arrive with the
 * source's digest.
 * @param {{ source: string, targets: Record<Tool, string>, rounds: number, log: (line: string) => void }} options URLs
 * @returns {Promise<Record<Tool, number[]>>} seconds per round
 */
export async function measureCopy({ source, targets, rounds, log }) {
  /** @type {Record<Tool, number[]>} */
  const samples = { regctl: [], skopeo: [] };
  for (let round = 1; round <= rounds; round++) {
    const repo = `bench/copy-${round}`;
    const digest = await pushRandomImage(source, repo, 'latest');
    /** @type {Tool[]} */
    const order = round % 2 ? ['regctl', 'skopeo'] : ['skopeo', 'regctl'];
    for (const tool of order) {
      const [command, args] = COMMANDS[tool](`${new URL(source).host}/${repo}:latest`, `${new URL(targets[tool]).host}/${repo}:latest`);
      const seconds = await timedRun(command, args);
      const served = await call(`${targets[tool]}/v2/${repo}/manifests/latest`, { method: 'HEAD', headers: { accept: MANIFEST_TYPE }, expect: 200 });
      if (served.headers['docker-content-digest'] !== digest) {
        throw new Error(`${tool} copy arrived as ${served.headers['docker-content-digest']}, not ${digest}`);
      }
      samples[tool].push(seconds);
      log(`${`copy ${COPY_LAYERS} × ${COPY_LAYER_MiB} MiB [${round}/${rounds}]`.padEnd(32)} ${tool.padEnd(6)} ${seconds.toFixed(2)} s`);
    }
  }
  return samples;
}
