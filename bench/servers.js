// The two registries under test, each on loopback with its own temporary root.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { findCncfRegistry, freePort, startCncfRegistry } from '../test/helpers/cncf-registry.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const READY_TIMEOUT_MS = 10_000;
/** serve drains in-flight requests on SIGTERM; past this it is hung, not draining. */
const STOP_TIMEOUT_MS = 10_000;

/** @typedef {{ name: string, url: string, pid: number, stop: () => Promise<void> }} Registry */

/**
 * @param {string} root
 * @returns {Promise<Registry>}
 */
export async function startRegctl(root) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    ['bin/regctl.js', 'serve', '--addr', `127.0.0.1:${port}`, '--root', root, '--log-level', 'error'],
    { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`regctl serve exited (${child.exitCode}): ${stderr.trim()}`);
    if (await answers(url)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`regctl serve did not answer on ${url} within ${READY_TIMEOUT_MS / 1000} s: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { name: 'regctl', url, pid: /** @type {number} */ (child.pid), stop };
}

/** @param {string} url */
async function answers(url) {
  try {
    const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * @param {string} root
 * @returns {Promise<Registry | { skipped: string }>}
 */
export async function startCncf(root) {
  if (!findCncfRegistry()) return { skipped: 'docker-registry is not installed (apt-get install docker-registry)' };
  const registry = await startCncfRegistry({ root });
  return { name: 'cncf', url: registry.url, pid: registry.pid, stop: registry.stop };
}
