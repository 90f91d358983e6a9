import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASK } from '../../src/config/mask.js';
import { runCli } from '../helpers/cli.js';
import { runProgram, testDeps } from './helpers.js';

const FIXTURES = fileURLToPath(new URL('../config/fixtures/', import.meta.url));
const DEBIAN = join(FIXTURES, 'debian-docker-registry.yml');
const FULL = join(FIXTURES, 'cncf-s3-full.yml');

let dir: string;
/** Debian's file names its config directory as the htpasswd file; these point it at a real one. */
let usable: NodeJS.ProcessEnv;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'regctl-config-cmd-'));
  await writeFile(join(dir, 'htpasswd'), '');
  usable = { REGISTRY_AUTH_HTPASSWD_PATH: join(dir, 'htpasswd') };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('regctl config validate', () => {
  it('exits 0 for a usable file and lists the warnings on stderr', async () => {
    const result = await runCli(['config', 'validate', DEBIAN], { env: usable });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${DEBIAN}: valid (5 warnings)\n`);
    expect(result.stderr.trim().split('\n')).toEqual([
      `warning: ${DEBIAN}:3: log.fields is not supported by regctl; ignored`,
      `warning: ${DEBIAN}:6: storage.cache is not supported by regctl (it keeps its own in-memory cache); ignored`,
      `warning: ${DEBIAN}:14: http.headers is not supported by regctl; ignored`,
      `warning: ${DEBIAN}:18: auth.htpasswd.realm "basic-realm" is not supported (regctl's realm is "regctl"); ignored`,
      `warning: ${DEBIAN}:20: health is not supported by regctl; ignored`,
    ]);
  });

  it('exits 2 for an invalid file with one line: FILE:LINE, what is wrong and the fix', async () => {
    const file = join(dir, 'bad.yml');
    await writeFile(file, 'version: 0.1\nhttp:\n  addr: :5000\nnotifications:\n  endpoints:\n    - url: https://hooks.example.com\n');
    const result = await runCli(['config', 'validate', file]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`regctl: ${file}:6: notifications.endpoints[0].name is missing; name the endpoint, e.g. name: ci-hook\n`);
  });

  it('exits 2 when a REGISTRY_* variable makes it invalid, naming the variable', async () => {
    const result = await runCli(['config', 'validate', DEBIAN], { env: { REGISTRY_LOG_LEVEL: 'loud' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('regctl: REGISTRY_LOG_LEVEL: log.level "loud" is not a level; write one of debug, info, warn, error, silent\n');
  });

  it('exits 3 for a missing file', async () => {
    const result = await runCli(['config', 'validate', join(dir, 'absent.yml')]);
    expect(result.code).toBe(3);
  });

  it("exits 2 for Debian's file as shipped: its htpasswd path is a directory, which serve cannot use", async () => {
    const shipped = join(dir, 'shipped');
    await mkdir(shipped, { recursive: true });
    const result = await runCli(['config', 'validate', DEBIAN], { env: { REGISTRY_AUTH_HTPASSWD_PATH: shipped } });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n').at(-1)).toBe(
      `regctl: REGISTRY_AUTH_HTPASSWD_PATH: htpasswd file ${shipped} is a directory, not a file; name the file itself, e.g. ${join(shipped, 'htpasswd')}`,
    );
  });

  it('checks every file the config names, relative paths shown whole; --json lists them all', async () => {
    const work = join(dir, 'files');
    await mkdir(work, { recursive: true });
    const file = join(work, 'registry.yml');
    await writeFile(file, ['version: 0.1', 'http:', '  tls:', '    certificate: /nonexist.crt', '    key: /nonexist.key', 'storage:', '  inmemory:', 'auth:', '  htpasswd:', '    path: htpasswd', 'regctl:', '  auth:', '    accessrules: rules.yml', ''].join('\n'));
    const t = await testDeps();
    const cwd = process.cwd();
    process.chdir(work);
    try {
      const err = (await runProgram(t, ['config', 'validate', file, '--json'])) as { exitCode: number };
      expect(err.exitCode).toBe(2);
    } finally {
      process.chdir(cwd);
    }
    const doc = JSON.parse(t.stdout()) as { valid: boolean; errors: { where: string; message: string }[] };
    expect(doc.valid).toBe(false);
    expect(doc.errors).toEqual([
      { where: `${file}:4`, message: 'no TLS certificate at /nonexist.crt: regctl tls init makes a certificate and key' },
      { where: `${file}:5`, message: 'no TLS key at /nonexist.key: regctl tls init makes a certificate and key' },
      { where: `${file}:10`, message: `no htpasswd file at ${join(work, 'htpasswd')}: add a user with regctl user add NAME --htpasswd ${join(work, 'htpasswd')}` },
      { where: `${file}:13`, message: `no access rules file at ${join(work, 'rules.yml')}: write the rules (README, "Access rules")` },
    ]);
  });

  it('--json on any failure: one error document on stdout besides the line on stderr', async () => {
    const result = await runCli(['config', 'print', '--config', join(dir, 'absent.yml'), '--json']);
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout)).toEqual({ error: { message: `no config file at ${join(dir, 'absent.yml')}; write one with regctl init, or check the path`, exitCode: 3 } });
    expect(result.stderr).toBe(`regctl: no config file at ${join(dir, 'absent.yml')}; write one with regctl init, or check the path\n`);
    const usage = await runCli(['config', 'validate', '--bogus', '--json']);
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stdout)).toEqual({ error: { message: "unknown option '--bogus'", exitCode: 2 } });
  });

  it('--json on an invalid file: {"valid": false, …} is the one document', async () => {
    const file = join(dir, 'typo.yml');
    await writeFile(file, 'version: 0.1\nstorage:\n  filesytem:\n    rootdirectory: /x\n');
    const result = await runCli(['config', 'validate', file, '--json']);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toEqual({
      file,
      valid: false,
      errors: [{ where: `${file}:3`, message: 'storage.filesytem is not a storage driver (did you mean storage.filesystem?); use one of filesystem, inmemory, s3' }],
      warnings: [],
    });
    expect(result.stderr).toBe(`regctl: ${file}:3: storage.filesytem is not a storage driver (did you mean storage.filesystem?); use one of filesystem, inmemory, s3\n`);
  });

  it('--json: one document with the warnings', async () => {
    const t = await testDeps({ env: usable });
    expect(await runProgram(t, ['config', 'validate', DEBIAN, '--json'])).toBeUndefined();
    const doc = JSON.parse(t.stdout()) as { valid: boolean; warnings: { key: string; where: string }[] };
    expect(doc.valid).toBe(true);
    expect(doc.warnings.map((w) => w.key)).toEqual(['log.fields', 'storage.cache', 'http.headers', 'auth.htpasswd.realm', 'health']);
    expect(t.stderr()).toBe('');
  });
});

describe('regctl config print', () => {
  it('prints the effective settings as YAML with every secret masked', async () => {
    const result = await runCli(['config', 'print', '--config', FULL], { env: { REGISTRY_HTTP_ADDR: '127.0.0.1:6000' } });
    expect(result.code).toBe(0);
    for (const secret of ['wJalrXUtnFEMI', 'hubpassword', 'hmac-key-1', 's3cr3t-token']) expect(result.stdout).not.toContain(secret);
    const printed = parse(result.stdout) as { http: { addr: string }; storage: { s3: { secretKey: string; accessKey: string } }; proxy: { upstreams: { password?: string }[] } };
    expect(printed.http.addr).toBe('127.0.0.1:6000');
    expect(printed.storage.s3).toMatchObject({ accessKey: 'AKIAEXAMPLE', secretKey: MASK });
    expect(printed.proxy.upstreams[0]!.password).toBe(MASK);
  });

  it('without a file: the defaults, with REGISTRY_* applied (--json)', async () => {
    const t = await testDeps({ env: { HOME: '/home/u', REGISTRY_STORAGE_DELETE_ENABLED: 'false' } });
    expect(await runProgram(t, ['config', 'print', '--json'])).toBeUndefined();
    const doc = JSON.parse(t.stdout()) as { config: { http: { addr: string }; storage: { driver: string; rootDirectory: string; delete: boolean } } };
    expect(doc.config.http.addr).toBe('127.0.0.1:5000');
    expect(doc.config.storage).toMatchObject({ driver: 'filesystem', rootDirectory: '/home/u/.local/share/regctl/registry', delete: false });
  });

  it('says which file it read, and points at the file init wrote when none is given', async () => {
    const t = await testDeps();
    expect(await runProgram(t, ['config', 'print'])).toBeUndefined();
    expect(t.stdout().split('\n')[0]).toBe('# no config file: defaults and the REGISTRY_* variables');
    expect(t.stderr()).toBe('');

    expect(await runProgram(t, ['init', '--yes', '--root', join(dir, 'data')])).toBeUndefined();
    const written = join(t.deps.env.REGCTL_CONFIG_DIR!, 'registry.yml');
    const again = await testDeps({ env: { REGCTL_CONFIG_DIR: t.deps.env.REGCTL_CONFIG_DIR! } });
    expect(await runProgram(again, ['config', 'print'])).toBeUndefined();
    expect(again.stderr()).toBe(`using no config file; init wrote ${written}: regctl serve --config ${written}\n`);
    expect(await runProgram(again, ['config', 'print', '--config', written])).toBeUndefined();
    expect(again.stdout()).toContain(`# from ${written} and the REGISTRY_* variables\n`);
  });
});
