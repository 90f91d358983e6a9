// The docker CLI, through a real dockerd, logs in to `regctl serve --tls --htpasswd` and pushes and
// pulls over HTTPS, with regctl's CA given to the engine through /etc/docker/certs.d (the engine
// reads no other directory, so this needs root; the test removes what it writes).
//
// Caveat: dockerd treats 127.0.0.0/8 as an insecure registry range, where it does not verify
// certificates; what this suite proves is login and transfers over TLS against the real engine,
// while certificate verification is proven by the regctl client tests (test/commands/tls.test.ts).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startServeProcess, type ServeProcess } from '../helpers/cli.js';
import { buildScratchImage, imageId } from '../helpers/images.js';
import { INTEROP_TIMEOUT_MS, interopGate, run, tempDir, type TempDir } from '../helpers/interop.js';

const DOCKER_CERTS_DIR = '/etc/docker/certs.d';
const isRoot = process.getuid?.() === 0;
const ready = interopGate('docker TLS suite', ['docker']) && (isRoot || (console.warn(`[interop] skipping docker TLS suite: writing ${DOCKER_CERTS_DIR} needs root`), false));

/** `docker ARGS` with `input` on stdin (for --password-stdin), resolving with the exit code and output. */
function dockerWithInput(args: string[], input: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { env });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
    child.stdin.end(input);
  });
}

describe.runIf(ready)('docker CLI against regctl serve --tls --htpasswd', { timeout: INTEROP_TIMEOUT_MS }, () => {
  const name = `regctl-interop/tls-${randomBytes(4).toString('hex')}`;
  let scratch: TempDir;
  let srv: ServeProcess;
  let host: string;
  let env: NodeJS.ProcessEnv;
  let id: string | undefined;

  beforeAll(async () => {
    scratch = await tempDir('docker-tls');
    const regctlEnv = { REGCTL_CONFIG_DIR: join(scratch.path, 'regctl'), REGCTL_DOCKER_CERTS_DIR: DOCKER_CERTS_DIR };
    expect((await runCli(['tls', 'init'], { env: regctlEnv })).code).toBe(0);
    expect((await runCli(['user', 'add', 'alice', '--password-stdin'], { env: regctlEnv, input: 'alice-pw\n' })).code).toBe(0);
    srv = await startServeProcess(['--ephemeral', '--tls', '--htpasswd', join(scratch.path, 'regctl', 'htpasswd')], regctlEnv);
    host = new URL(srv.url).host;
    const trusted = await runCli(['tls', 'trust', '--docker', '--addr', host], { env: regctlEnv });
    expect(trusted.stdout).toBe(`docker trusts ${host}: ${join(DOCKER_CERTS_DIR, host, 'ca.crt')}\n`);
    // Logins go to a Docker config of the test's own, not the machine's.
    env = { ...process.env, DOCKER_CONFIG: join(scratch.path, 'docker') };
  }, INTEROP_TIMEOUT_MS);

  afterAll(async () => {
    if (id) await run('docker', ['rmi', '--force', id]);
    await srv?.stop();
    if (host) await rm(join(DOCKER_CERTS_DIR, host), { recursive: true, force: true });
    // Gone only if empty: it may have been there before, with other registries in it.
    await rmdir(DOCKER_CERTS_DIR).catch(() => undefined);
    await scratch?.remove();
  }, INTEROP_TIMEOUT_MS);

  it('refuses docker login with a wrong password', async () => {
    const login = await dockerWithInput(['login', host, '-u', 'alice', '--password-stdin'], 'wrong', env);
    expect(login.code).not.toBe(0);
    expect(login.output).toMatch(/unauthorized|401/i);
  });

  it('logs in, pushes, and pulls back the same image over HTTPS', async () => {
    const login = await dockerWithInput(['login', host, '-u', 'alice', '--password-stdin'], 'alice-pw', env);
    expect(login.code, login.output).toBe(0);
    expect(login.output).toContain('Login Succeeded');

    id = await buildScratchImage(`${name}:built`);
    const remote = `${host}/${name}:v1`;
    await run('docker', ['tag', id, remote], env);
    const pushed = await run('docker', ['push', remote], env);
    expect(pushed).toMatch(/digest: sha256:[0-9a-f]{64}/);
    await run('docker', ['rmi', `${name}:built`, remote], env);
    await run('docker', ['pull', remote], env);
    expect(await imageId(remote)).toBe(id);

    await run('docker', ['logout', host], env);
    // Refused over HTTPS, the engine retries loopback registries over plain HTTP, so the message it
    // ends with varies (401, or EOF from the HTTPS port); a failed pull is what matters.
    await expect(run('docker', ['pull', remote], env)).rejects.toThrow(/docker pull .* failed/);
    // The registry only speaks HTTPS, so every request above was TLS; and none carried a password in the log.
    expect(srv.stderr()).not.toContain('alice-pw');
  });
});
