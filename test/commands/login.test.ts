import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/errors.js';
import { AuthError } from '../../src/client/errors.js';
import { runCatalog } from '../../src/commands/catalog.js';
import { runLogin, runLogout } from '../../src/commands/login.js';
import { runCli } from '../helpers/cli.js';
import { runProgram, testDeps } from './helpers.js';

const USER = 'alice';
const PASSWORD = 's3cret:with:colons';

/** A registry front that wants Basic credentials for everything and answers `{}` once they are right. */
async function basicAuthRegistry(): Promise<{ host: string; server: Server }> {
  const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
  const server = createServer((req, res) => {
    if (req.headers.authorization === expected) {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    res
      .writeHead(401, { 'www-authenticate': 'Basic realm="x"', 'content-type': 'application/json' })
      .end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

let host: string;
let server: Server;
beforeAll(async () => {
  ({ host, server } = await basicAuthRegistry());
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function storedAuths(path: string): Promise<Record<string, { auth?: string }>> {
  return (JSON.parse(await readFile(path, 'utf8')) as { auths: Record<string, { auth?: string }> }).auths;
}

describe('regctl login', () => {
  it('checks the password with the registry, then stores it the way docker does; later commands use it', async () => {
    const t = await testDeps({ stdin: `${PASSWORD}\n` });
    const { deps } = t;
    await expect(runCatalog(host, {}, deps)).rejects.toThrow(AuthError);
    const result = await runLogin(host, { username: USER, passwordStdin: true }, deps);
    expect(result).toEqual({ registry: host, username: USER, configPath: deps.dockerConfig.path });
    expect(await storedAuths(deps.dockerConfig.path)).toEqual({ [host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } });
    expect(await runCatalog(host, {}, deps)).toEqual({ registry: host, repositories: [] });
  });

  it('a wrong password is refused (exit 4) and nothing is stored', async () => {
    const { deps } = await testDeps({ stdin: 'wrong\n' });
    const err = await runLogin(host, { username: USER, passwordStdin: true }, deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toBe(`${host} refused the credentials for ${USER}; nothing was stored`);
    await expect(readFile(deps.dockerConfig.path)).rejects.toMatchObject({ code: 'ENOENT' });

    const dir = await mkdtemp(join(tmpdir(), 'regctl-login-'));
    try {
      const cli = await runCli(['login', host, '-u', USER, '--password-stdin'], { input: 'wrong\n', env: { DOCKER_CONFIG: dir } });
      expect(cli).toMatchObject({ code: 4, stdout: '' });
      expect(cli.stderr).toBe(`regctl: ${host} refused the credentials for ${USER}; nothing was stored\n`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('without a terminal the password must come from --password-stdin (usage error, exit 2)', async () => {
    const { deps } = await testDeps();
    await expect(runLogin(host, { username: USER }, deps)).rejects.toThrow(/--password-stdin/);
    await expect(runLogin(host, {}, deps)).rejects.toThrow(UsageError);
    await expect(runLogin(host, { passwordStdin: true }, deps)).rejects.toThrow('--password-stdin goes with --username (-u)');

    const cli = await runCli(['login', host, '-u', USER]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/^regctl: no terminal to ask for the password: .*--password-stdin/);
  });

  it('on a terminal asks for what the flags leave out', async () => {
    const t = await testDeps({ tty: true });
    const stdin = t.deps.stdin as NodeJS.WritableStream & typeof t.deps.stdin;
    // Each answer goes in once its prompt is on screen, as a person would type it.
    const answering = (async () => {
      for (const [prompt, answer] of [['Username for', USER], ['Password:', PASSWORD]] as const) {
        for (let i = 0; i < 500 && !t.stderr().includes(prompt); i++) await new Promise((r) => setTimeout(r, 10));
        stdin.write(`${answer}\n`);
      }
    })();
    const result = await runLogin(host, {}, t.deps);
    await answering;
    expect(result.username).toBe(USER);
    expect(t.stderr()).toContain(`Password: ${'*'.repeat(PASSWORD.length)}`);
    expect(t.stderr()).not.toContain(PASSWORD);
    expect(t.stdout()).toBe('');
    expect(await t.deps.dockerConfig.get(host)).toEqual({ username: USER, password: PASSWORD });
  });

  it('end to end: --json is the only output on stdout', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'regctl-login-'));
    try {
      const cli = await runCli(['login', host, '-u', USER, '--password-stdin', '--json'], { input: PASSWORD, env: { DOCKER_CONFIG: dir } });
      expect(cli.code).toBe(0);
      expect(JSON.parse(cli.stdout)).toEqual({ registry: host, username: USER, configPath: join(dir, 'config.json') });
      expect(cli.stderr).toBe('');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('regctl logout', () => {
  it('removes the login and leaves the rest of the Docker config alone', async () => {
    const t = await testDeps();
    const path = t.deps.dockerConfig.path;
    await t.deps.dockerConfig.set(host, { username: USER, password: PASSWORD });
    const config = JSON.parse(await readFile(path, 'utf8'));
    await writeFile(path, JSON.stringify({ ...config, auths: { ...config.auths, 'other.example': { auth: 'eDp5' } }, psFormat: 'table' }));

    expect(await runProgram(t, ['logout', host])).toBeUndefined();
    expect(t.stdout()).toBe(`logged out of ${host} (removed from ${path})\n`);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ auths: { 'other.example': { auth: 'eDp5' } }, psFormat: 'table' });

    expect(await runLogout(host, t.deps)).toEqual({ registry: host, removed: false, configPath: path });
  });
});
