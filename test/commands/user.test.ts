import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHtpasswd, verifyPassword } from '../../src/auth/htpasswd.js';
import { runUserAdd } from '../../src/commands/user.js';
import { startServeProcess, type ServeProcess } from '../helpers/cli.js';
import { runProgram, testDeps, type TestDeps } from './helpers.js';

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** `regctl user …` against one htpasswd file, in-process. */
async function user(file: string, args: string[], stdin?: string): Promise<TestDeps & { error: unknown }> {
  const t = await testDeps({ stdin });
  const error = await runProgram(t, ['user', ...args, '--htpasswd', file]);
  return { ...t, error };
}

describe('regctl user', () => {
  let file: string;
  beforeAll(async () => {
    file = join((await testDeps()).deps.env.REGCTL_CONFIG_DIR!, 'users', 'htpasswd');
  });

  it('adds, lists, changes and removes users in an htpasswd file (bcrypt, mode 0600)', async () => {
    expect((await user(file, ['add', 'alice', '--password-stdin'], 'alice-pw\n')).error).toBeUndefined();
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const added = await user(file, ['add', 'bob', '--password-stdin', '--json'], 'bob-pw');
    expect(JSON.parse(added.stdout())).toEqual({ user: 'bob', file, replaced: false });
    const changed = await user(file, ['add', 'alice', '--password-stdin'], 'other-pw');
    expect(changed.stdout()).toBe(`changed the password of alice in ${file}\n`);

    const text = await readFile(file, 'utf8');
    expect(text).not.toMatch(/alice-pw|other-pw|bob-pw/);
    expect([...parseHtpasswd(text).users.keys()]).toEqual(['alice', 'bob']);

    const listed = await user(file, ['ls', '--json']);
    expect(JSON.parse(listed.stdout()).users).toEqual([
      { user: 'alice', line: 1, format: 'bcrypt', accepted: true },
      { user: 'bob', line: 2, format: 'bcrypt', accepted: true },
    ]);
    expect((await user(file, ['rm', 'bob'])).stdout()).toBe(`removed bob from ${file}\n`);
    expect((await user(file, ['ls'])).stdout()).toBe('alice\n');
    expect((await user(file, ['rm', 'bob'])).error).toMatchObject({ exitCode: 3, message: `no user bob in ${file}` });
  });

  it('defaults to htpasswd in the config dir', async () => {
    const t = await testDeps({ stdin: 'pw' });
    expect(await runProgram(t, ['user', 'add', 'carol', '--password-stdin'])).toBeUndefined();
    expect(t.stdout()).toBe(`added carol in ${join(t.deps.env.REGCTL_CONFIG_DIR!, 'htpasswd')}\n`);
  });

  it('says there is no such file (exit 3) for ls and rm, and names a directory given as the file (exit 2)', async () => {
    const dir = (await testDeps()).deps.env.REGCTL_CONFIG_DIR!;
    const missing = join(dir, 'nonexistent');
    const hint = `add a user with regctl user add NAME --htpasswd ${missing}`;
    expect((await user(missing, ['ls'])).error).toMatchObject({ exitCode: 3, message: `no htpasswd file at ${missing}: ${hint}` });
    expect((await user(missing, ['rm', 'zed'])).error).toMatchObject({ exitCode: 3, message: `no htpasswd file at ${missing}, so no user zed to remove: ${hint}` });
    await mkdir(dir, { recursive: true });
    for (const args of [['add', 'zed', '--password-stdin'], ['ls'], ['rm', 'zed']]) {
      expect((await user(dir, args, 'pw')).error).toMatchObject({ exitCode: 2, message: `${dir} is a directory: --htpasswd takes the htpasswd file itself, e.g. ${join(dir, 'htpasswd')}` });
    }
  });

  it('names broken lines by number instead of hinting at a command that cannot run', async () => {
    const dir = (await testDeps()).deps.env.REGCTL_CONFIG_DIR!;
    await mkdir(dir, { recursive: true });
    const broken = join(dir, 'broken');
    await writeFile(broken, 'garbage line\n:bar\n');
    expect((await user(broken, ['ls'])).stdout()).toBe(
      'line 1: not user:hash; fix or delete it (users are added with regctl user add NAME)\nline 2: not user:hash; fix or delete it (users are added with regctl user add NAME)\n',
    );
  });

  it('marks entries in hashes the server refuses', async () => {
    const dir = (await testDeps()).deps.env.REGCTL_CONFIG_DIR!;
    await mkdir(dir, { recursive: true });
    const mixed = join(dir, 'mixed');
    await writeFile(mixed, 'dave:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n');
    expect((await user(mixed, ['ls'])).stdout()).toBe('dave  (SHA-1: not accepted; re-add with regctl user add dave)\n');
  });

  it('asks a person at a terminal for the password twice', async () => {
    const t = await testDeps({ tty: true });
    const stdin = t.deps.stdin as NodeJS.WritableStream & typeof t.deps.stdin;
    // Each answer goes in once its prompt is on screen, as a person would type it.
    const answering = (async () => {
      for (const prompt of ['Password for frank:', 'Again:']) {
        for (let i = 0; i < 500 && !t.stderr().includes(prompt); i++) await new Promise((r) => setTimeout(r, 10));
        stdin.write('frank-pw\n');
      }
    })();
    const result = await runUserAdd('frank', { htpasswd: file }, t.deps);
    await answering;
    expect(result).toEqual({ user: 'frank', file, replaced: false });
    expect(t.stderr()).not.toContain('frank-pw');
    const hash = parseHtpasswd(await readFile(file, 'utf8')).users.get('frank')!;
    expect(await verifyPassword('frank-pw', hash)).toBe(true);
  });

  it('refuses what it cannot store, and asks only a terminal for the password', async () => {
    expect((await user(file, ['add', 'a:b', '--password-stdin'], 'pw')).error).toMatchObject({ exitCode: 2 });
    expect((await user(file, ['add', 'erin', '--password-stdin'], '')).error).toMatchObject({
      exitCode: 2,
      message: `the password read from stdin is empty; nothing was changed: pipe a non-empty one, e.g. printf '%s' "$PASSWORD" | … --password-stdin (is $PASSWORD set?)`,
    });
    expect((await user(file, ['add', 'erin', '--password-stdin'], 'x'.repeat(73))).error).toMatchObject({ exitCode: 2 });
    expect((await user(file, ['add', 'erin'])).error).toMatchObject({ exitCode: 2, message: expect.stringMatching(/--password-stdin/) });
    expect(parseHtpasswd(await readFile(file, 'utf8')).users.has('erin')).toBe(false);
  });
});

describe('regctl serve --htpasswd', () => {
  let file: string;
  let srv: ServeProcess;
  beforeAll(async () => {
    file = join((await testDeps()).deps.env.REGCTL_CONFIG_DIR!, 'htpasswd');
    await user(file, ['add', 'alice', '--password-stdin'], 'alice-pw');
    await writeFile(file, `${await readFile(file, 'utf8')}legacy:$apr1$Vt1a3Cq2$JNmmcW2.N2HzMHUUr4L9j/\n`);
    srv = await startServeProcess(['--ephemeral', '--htpasswd', file]);
  });
  afterAll(async () => {
    await srv?.stop();
  });

  const status = async (authorization?: string): Promise<number> => {
    const res = await request(`${srv.url}/v2/`, { headers: authorization ? { authorization } : {} });
    await res.body.dump();
    return res.statusCode;
  };

  it('warns at start-up about entries it will not accept', () => {
    expect(srv.stderr()).toMatch(/warn .*htpasswd user "legacy" uses apr1 \(MD5\), which regctl does not accept/);
  });

  it('answers 401 without or with wrong credentials, 200 with the right ones', async () => {
    expect(await status()).toBe(401);
    expect(await status(basic('alice', 'nope'))).toBe(401);
    expect(await status(basic('legacy', 'anything'))).toBe(401);
    expect(await status(basic('alice', 'alice-pw'))).toBe(200);
  });

  it('follows changes to the file without a restart', async () => {
    expect(await status(basic('bob', 'bob-pw'))).toBe(401);
    await user(file, ['add', 'bob', '--password-stdin'], 'bob-pw');
    expect(await status(basic('bob', 'bob-pw'))).toBe(200);
    await user(file, ['rm', 'alice']);
    expect(await status(basic('alice', 'alice-pw'))).toBe(401);
  });

  it('never logs passwords', () => {
    expect(srv.stderr()).not.toMatch(/alice-pw|bob-pw|nope/);
  });
});
