// Gates and shared plumbing for the interop suites (skopeo, the CNCF registry, dockerd, podman).
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { startCncfRegistry } from './cncf-registry.js';
import { startRegistry } from './server.js';

export type InteropTool = 'skopeo' | 'docker-registry' | 'docker' | 'podman';

export interface ToolCheck {
  available: boolean;
  reason?: string;
}

const APT_PACKAGE: Record<InteropTool, string> = {
  skopeo: 'skopeo',
  'docker-registry': 'docker-registry',
  docker: 'docker.io',
  podman: 'podman',
};

// `docker version` asks the daemon too, and a wedged daemon can hang the CLI far longer than this.
const PROBE_TIMEOUT_MS = 5_000;

/** Per test and hook: generous for 2 busy cores, far below the whole run's budget. */
export const INTEROP_TIMEOUT_MS = 60_000;
// Below the test timeout, so a stuck command fails with its own stderr rather than a bare timeout.
const COMMAND_TIMEOUT_MS = 20_000;

const checks = new Map<InteropTool, ToolCheck>();

/** Whether `tool` can be used here; probed once per test file. */
export function requireTool(tool: InteropTool): ToolCheck {
  let check = checks.get(tool);
  if (!check) {
    check = probe(tool);
    checks.set(tool, check);
  }
  return check;
}

function probe(tool: InteropTool): ToolCheck {
  const args = tool === 'docker' ? ['version', '--format', '{{.Server.Version}}'] : ['--version'];
  const result = spawnSync(tool, args, { encoding: 'utf8', timeout: PROBE_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'] });
  const notInstalled = `${tool} not installed (apt-get install ${APT_PACKAGE[tool]})`;
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return { available: false, reason: notInstalled };
  if (result.status === 0) return { available: true };
  if (tool !== 'docker') return { available: false, reason: `${tool} --version failed: ${firstLine(result.stderr)}` };
  const host = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  const why = result.error ? `no answer within ${PROBE_TIMEOUT_MS / 1000} s` : firstLine(result.stderr);
  return { available: false, reason: `docker daemon not reachable at ${host} (${why}); start dockerd and set DOCKER_HOST` };
}

function firstLine(text: string | null | undefined): string {
  return (text ?? '').trim().split('\n')[0] || 'no output';
}

/**
 * For `describe.runIf(gateOn(...))`: true when `check` finds what the suite needs. Otherwise prints
 * one line and skips, or, under REGCTL_REQUIRE_INTEROP=1 (CI), registers a failing test naming what
 * is missing so a broken CI machine cannot pass by skipping.
 */
export function gateOn(suite: string, check: () => ToolCheck): boolean {
  const { available, reason } = check();
  if (available) return true;
  if (process.env.REGCTL_REQUIRE_INTEROP === '1') {
    describe(suite, () => {
      it('has what it needs (REGCTL_REQUIRE_INTEROP=1)', () => {
        throw new Error(`[interop] ${suite} cannot run: ${reason}`);
      });
    });
  } else {
    console.warn(`[interop] skipping ${suite}: ${reason}`);
  }
  return false;
}

/** `gateOn` for command-line tools: true when every one is usable. */
export function interopGate(suite: string, tools: InteropTool[]): boolean {
  return gateOn(suite, () => {
    const reasons = tools.map(requireTool).flatMap((c) => (c.available ? [] : [c.reason]));
    return reasons.length === 0 ? { available: true } : { available: false, reason: reasons.join('; ') };
  });
}

/** Runs a command to completion and returns its stdout; the error carries the command line and stderr. */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024, env },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const how = err.killed ? `timed out after ${COMMAND_TIMEOUT_MS / 1000} s` : `failed (${err.code ?? err.signal})`;
        reject(new Error(`${command} ${args.join(' ')} ${how}: ${stderr.trim() || stdout.trim().slice(-2000) || err.message}`));
      },
    );
  });
}

/** skopeo without the host's signature policy, which a fresh machine may lack or make strict. */
export function skopeo(...args: string[]): Promise<string> {
  return run('skopeo', ['--insecure-policy', ...args]);
}

export interface TempDir {
  path: string;
  remove(): Promise<void>;
}

export async function tempDir(prefix: string): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), `regctl-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export interface RunningRegistry {
  /** 127.0.0.1:PORT */
  host: string;
  url: string;
  stop(): Promise<void>;
}

/** A registry server the suites run against; `root` shares a storage tree between servers. */
export interface RegistryTarget {
  name: string;
  tools: InteropTool[];
  start(root?: string): Promise<RunningRegistry>;
}

export const REGCTL: RegistryTarget = {
  name: 'regctl',
  tools: [],
  async start(root) {
    const server = await startRegistry({ driver: 'filesystem', root });
    return { host: server.host, url: server.url, stop: () => server.close() };
  },
};

export const CNCF: RegistryTarget = {
  name: 'CNCF registry',
  tools: ['docker-registry'],
  async start(root) {
    const own = root ? undefined : await tempDir('cncf');
    const server = await startCncfRegistry({ root: root ?? own!.path });
    return {
      host: server.host,
      url: server.url,
      async stop() {
        await server.stop();
        await own?.remove();
      },
    };
  },
};

/** The reference server first, so a failure there says the test is wrong, not regctl. */
export const TARGETS: RegistryTarget[] = [CNCF, REGCTL];
