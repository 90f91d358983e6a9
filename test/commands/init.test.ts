import { spawn, spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseHtpasswd, verifyPassword } from '../../src/auth/htpasswd.js';
import { runInit, type Prompter } from '../../src/commands/init.js';
import { loadServeConfig } from '../../src/config/load.js';
import { writePrivateFile } from '../../src/util/private-file.js';
import { BIN, runCli, startServeProcess } from '../helpers/cli.js';
import { buildImage } from '../helpers/fixtures.js';
import { manifestPath, pushImage, RegistryHttp } from '../helpers/http.js';
import { runProgram, testDeps } from './helpers.js';

/** Answers the wizard from a script; asking anything else fails the test. */
function scripted(answers: Record<string, string | boolean>): Prompter & { asked: string[] } {
  const asked: string[] = [];
  const answer = async (message: string): Promise<string | boolean> => {
    asked.push(message);
    const key = Object.keys(answers).find((k) => message.startsWith(k));
    if (key === undefined) throw new Error(`unexpected question: ${message}`);
    return answers[key]!;
  };
  return {
    asked,
    input: async (message) => String(await answer(message)),
    password: async (message) => String(await answer(message)),
    confirm: async (message) => Boolean(await answer(message)),
  };
}

describe('regctl init with flags (no terminal)', () => {
  it('writes a config that regctl serve --config runs, pushing and pulling', async () => {
    const t = await testDeps();
    const dir = t.deps.env.REGCTL_CONFIG_DIR!;
    const file = join(dir, 'registry.yml');
    const root = join(dir, 'data');
    expect(await runProgram(t, ['init', '--addr', '127.0.0.1:0', '--root', root, '--json'])).toBeUndefined();
    const result = JSON.parse(t.stdout()) as { file: string; tls: string; next: string };
    expect(result).toMatchObject({ file, tls: 'none', next: `regctl serve --config ${file}` });
    expect((await loadServeConfig({ file, env: {} })).warnings).toEqual([]);

    const srv = await startServeProcess(['--config', file]);
    const http = new RegistryHttp(srv.url);
    try {
      const image = buildImage();
      await pushImage(http, 'init/app', image, 'v1');
      const res = await http.get(manifestPath('init/app', 'v1'), { headers: { accept: image.manifest.mediaType } });
      expect(res.status).toBe(200);
      expect((await http.send('DELETE', manifestPath('init/app', image.manifest.digest))).status).toBe(202);
    } finally {
      await http.close();
      expect(await srv.stop()).toBe(0);
    }
    expect(srv.stderr()).toContain(`storing in ${root} (filesystem)`);
    expect(srv.stderr()).not.toContain('warn');
  });

  it('--user with --password-stdin adds the first user and turns on htpasswd', async () => {
    const t = await testDeps({ stdin: 'correct horse\n' });
    const dir = t.deps.env.REGCTL_CONFIG_DIR!;
    expect(await runProgram(t, ['init', '--root', join(dir, 'data'), '--user', 'alice', '--password-stdin'])).toBeUndefined();
    const written = parse(await readFile(join(dir, 'registry.yml'), 'utf8')) as { auth: { htpasswd: { realm: string; path: string } } };
    expect(written.auth.htpasswd).toEqual({ realm: 'regctl', path: join(dir, 'htpasswd') });
    const [entry] = parseHtpasswd(await readFile(join(dir, 'htpasswd'), 'utf8')).entries;
    expect(entry!.user).toBe('alice');
    expect(await verifyPassword('correct horse', entry!.hash)).toBe(true);
    expect(t.stdout()).toContain('logins    alice');

    // The file serves with logins required: the user from init may push, nobody else may.
    const srv = await startServeProcess(['--config', join(dir, 'registry.yml'), '--addr', '127.0.0.1:0']);
    const http = new RegistryHttp(srv.url);
    try {
      expect((await http.get('/v2/')).status).toBe(401);
      const basic = `Basic ${Buffer.from('alice:correct horse').toString('base64')}`;
      expect((await http.get('/v2/', { headers: { authorization: basic } })).status).toBe(200);
    } finally {
      await http.close();
      expect(await srv.stop()).toBe(0);
    }
    expect(srv.stderr()).toContain(`auth: htpasswd ${join(dir, 'htpasswd')}`);
  });

  it('asks nothing without a terminal: a user without --password-stdin is a usage error', async () => {
    const t = await testDeps();
    const err = (await runProgram(t, ['init', '--user', 'bob'])) as { message: string; exitCode: number };
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe('no terminal to ask the password of bob: pipe it in with --password-stdin');
    await expect(stat(join(t.deps.env.REGCTL_CONFIG_DIR!, 'registry.yml'))).rejects.toThrow();
  });

  it('keeps an existing file unless --force (or --yes)', async () => {
    const t = await testDeps();
    const file = join(t.deps.env.REGCTL_CONFIG_DIR!, 'mine.yml');
    await mkdir(t.deps.env.REGCTL_CONFIG_DIR!, { recursive: true });
    await writeFile(file, 'version: 0.1\n');
    const err = (await runProgram(t, ['init', '--output', file])) as Error;
    expect(err.message).toBe(`${file} exists; pass --force to replace it, or --output to write elsewhere`);
    expect(await readFile(file, 'utf8')).toBe('version: 0.1\n');
    expect(await runProgram(t, ['init', '--output', file, '--force', '--addr', ':5001'])).toBeUndefined();
    expect(parse(await readFile(file, 'utf8'))).toMatchObject({ http: { addr: ':5001' } });
  });

  it('an existing file without --force is a usage error (exit 2); --yes replaces it and says so', async () => {
    const t = await testDeps();
    const file = join(t.deps.env.REGCTL_CONFIG_DIR!, 'mine.yml');
    await mkdir(t.deps.env.REGCTL_CONFIG_DIR!, { recursive: true });
    await writeFile(file, 'version: 0.1\n');
    expect(((await runProgram(t, ['init', '--output', file])) as { exitCode: number }).exitCode).toBe(2);
    expect(await runProgram(t, ['init', '--output', file, '--yes', '--root', join(t.deps.env.REGCTL_CONFIG_DIR!, 'data')])).toBeUndefined();
    expect(t.stdout().split('\n')[0]).toBe(`replaced ${file}`);
  });

  it('--output naming a directory is one line, and nothing is left behind', async () => {
    const t = await testDeps();
    const dir = join(t.deps.env.REGCTL_CONFIG_DIR!, 'here');
    await mkdir(dir, { recursive: true });
    const err = (await runProgram(t, ['init', '--output', dir, '--yes'])) as { message: string; exitCode: number };
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe(`${dir} is a directory; give --output a file name, e.g. ${join(dir, 'registry.yml')}`);
    expect(await readdir(t.deps.env.REGCTL_CONFIG_DIR!)).toEqual(['here']);
  });

  // Node 20's recursive mkdir never returns under /proc: init must fail at once instead.
  it.skipIf(process.platform !== 'linux')('an --output that cannot be made fails at once with one line', async () => {
    const t = await testDeps();
    const err = (await runProgram(t, ['init', '--output', '/proc/nope/registry.yml', '--yes', '--root', join(t.deps.env.REGCTL_CONFIG_DIR!, 'data')])) as { message: string; exitCode: number };
    expect(err.message).toBe('cannot write /proc/nope/registry.yml (ENOENT); choose another place with --output');
    expect(err.exitCode).toBe(1);
  });

  it('the atomic writer removes its temporary file when the rename fails', async () => {
    const t = await testDeps();
    const dir = join(t.deps.env.REGCTL_CONFIG_DIR!, 'target');
    await mkdir(join(dir, 'inside'), { recursive: true });
    await expect(writePrivateFile(dir, 'x')).rejects.toThrow();
    expect(await readdir(t.deps.env.REGCTL_CONFIG_DIR!)).toEqual(['target']);
  });

  it('refuses --tls-cert and --tls-key files that do not exist', async () => {
    const t = await testDeps();
    const err = (await runProgram(t, ['init', '--tls-cert', '/nonexist.crt', '--tls-key', '/nonexist.key', '--yes'])) as { message: string; exitCode: number };
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe('--tls-cert: no file at /nonexist.crt; regctl tls init makes a certificate and key, or use --tls');
    await expect(stat(join(t.deps.env.REGCTL_CONFIG_DIR!, 'registry.yml'))).rejects.toThrow();
  });

  it('--password-stdin without --user is a usage error, not an ignored password', async () => {
    const t = await testDeps({ stdin: 'x' });
    const err = (await runProgram(t, ['init', '--password-stdin'])) as { message: string; exitCode: number };
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe("--password-stdin needs --user NAME: the password is the first user's");
  });

  it("leaves an existing user's password alone unless --force", async () => {
    const first = await testDeps({ stdin: 'first password' });
    const dir = first.deps.env.REGCTL_CONFIG_DIR!;
    expect(await runProgram(first, ['init', '--user', 'bob', '--password-stdin', '--output', join(dir, 'a.yml'), '--root', join(dir, 'data')])).toBeUndefined();
    const htpasswd = join(dir, 'htpasswd');
    const before = await readFile(htpasswd, 'utf8');

    const second = await testDeps({ stdin: 'second password', env: { REGCTL_CONFIG_DIR: dir } });
    const err = (await runProgram(second, ['init', '--user', 'bob', '--password-stdin', '--output', join(dir, 'b.yml'), '--root', join(dir, 'data')])) as { message: string; exitCode: number };
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe(`bob is already in ${htpasswd}; init leaves passwords alone: change it with regctl user add bob --htpasswd ${htpasswd}, or pass --force`);
    expect(await readFile(htpasswd, 'utf8')).toBe(before);
    await expect(stat(join(dir, 'b.yml'))).rejects.toThrow();

    const forced = await testDeps({ stdin: 'second password', env: { REGCTL_CONFIG_DIR: dir } });
    expect(await runProgram(forced, ['init', '--user', 'bob', '--password-stdin', '--output', join(dir, 'b.yml'), '--root', join(dir, 'data'), '--force'])).toBeUndefined();
    const [entry] = parseHtpasswd(await readFile(htpasswd, 'utf8')).entries;
    expect(await verifyPassword('second password', entry!.hash)).toBe(true);
  });

  it('an invalid --addr is refused before anything is written', async () => {
    const result = await runCli(['init', '--addr', 'somewhere', '--output', '/nonexistent/x.yml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^regctl: invalid address "somewhere"/);
  });
});

describe('regctl init, the wizard', () => {
  it('asks address, storage root, TLS and the first user, then writes them', async () => {
    const t = await testDeps({ tty: true });
    const dir = t.deps.env.REGCTL_CONFIG_DIR!;
    const prompter = scripted({
      'Address to listen on': ':5443',
      'Storage root directory': join(dir, 'store'),
      'Serve HTTPS?': true,
      'Use certificate files of your own?': false,
      'First user': 'carol',
      'Password for carol:': 'pw-carol',
      'Again:': 'pw-carol',
    });
    const result = await runInit({}, t.deps, prompter);
    expect(prompter.asked).toHaveLength(7);
    expect(result).toMatchObject({ addr: ':5443', root: join(dir, 'store'), tls: 'generated', user: 'carol' });
    const { config, warnings } = await loadServeConfig({ file: result.file, env: {} });
    expect(warnings).toEqual([]);
    expect(config.http).toEqual({ addr: ':5443', tls: { certificate: join(dir, 'tls', 'server.crt'), key: join(dir, 'tls', 'server.key') } });
    // The certificate it points at was made (regctl tls init), so serve can start with it.
    await stat(join(dir, 'tls', 'server.crt'));
    expect(config.auth.htpasswd).toEqual({ path: join(dir, 'htpasswd') });
  });

  it('flags answer their questions; the rest take the defaults shown', async () => {
    const t = await testDeps({ tty: true });
    const prompter = scripted({ 'Storage root directory': '', 'Serve HTTPS?': false, 'First user': '' });
    const result = await runInit({ addr: '127.0.0.1:7000' }, t.deps, prompter);
    expect(prompter.asked).toEqual(['Storage root directory', 'Serve HTTPS?', 'First user (empty = no login needed)']);
    expect(result).toMatchObject({ addr: '127.0.0.1:7000', tls: 'none' });
    expect(result.user).toBeUndefined();
  });

  it('different passwords stop it without writing', async () => {
    const t = await testDeps({ tty: true });
    const prompter = scripted({ 'Address': '', 'Storage': '', 'Serve HTTPS?': false, 'First user': 'dan', 'Password for dan:': 'a', 'Again:': 'b' });
    await expect(runInit({}, t.deps, prompter)).rejects.toThrow('the passwords differ; cancelled; no config file was written');
    await expect(stat(join(t.deps.env.REGCTL_CONFIG_DIR!, 'registry.yml'))).rejects.toThrow();
  });

  it('--yes on a terminal asks nothing', async () => {
    const t = await testDeps({ tty: true });
    const prompter = scripted({});
    const result = await runInit({ yes: true }, t.deps, prompter);
    expect(prompter.asked).toEqual([]);
    expect(result.addr).toBe('127.0.0.1:5000');
  });
});

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

describe.runIf(hasScript)('regctl init in a real pseudo-terminal (script)', () => {
  it('answers typed at the prompts end up in the file', { timeout: 30_000 }, async () => {
    const t = await testDeps();
    const dir = t.deps.env.REGCTL_CONFIG_DIR!;
    const file = join(dir, 'tty.yml');
    const answers: [prompt: string, keys: string][] = [
      ['Address to listen on', '127.0.0.1:5999\r'],
      ['Storage root directory', `${join(dir, 'tty-root')}\r`],
      ['Serve HTTPS?', 'n\r'],
      ['First user', 'erin\r'],
      ['Password for erin:', 'typed-pw\r'],
      ['Again:', 'typed-pw\r'],
    ];
    const child = spawn('script', ['-qfec', `${process.execPath} ${BIN} init --output ${file}`, '/dev/null'], {
      env: { ...process.env, REGCTL_CONFIG_DIR: dir, NO_COLOR: '1' },
    });
    let screen = '';
    let next = 0;
    child.stdout.on('data', (d: Buffer) => {
      screen += d.toString('utf8');
      // One answer per prompt, typed once the prompt is on the screen.
      while (next < answers.length && screen.includes(answers[next]![0])) {
        child.stdin.write(answers[next]![1]);
        screen = screen.slice(screen.indexOf(answers[next]![0]) + answers[next]![0].length);
        next++;
      }
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(next).toBe(answers.length);
    expect(code).toBe(0);
    const { config } = await loadServeConfig({ file, env: {} });
    expect(config.http.addr).toBe('127.0.0.1:5999');
    expect(config.storage).toMatchObject({ driver: 'filesystem', rootDirectory: join(dir, 'tty-root') });
    const [entry] = parseHtpasswd(await readFile(join(dir, 'htpasswd'), 'utf8')).entries;
    expect(await verifyPassword('typed-pw', entry!.hash)).toBe(true);
  });
});
