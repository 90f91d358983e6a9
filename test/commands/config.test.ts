import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'regctl-config-cmd-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('regctl config validate', () => {
  it('exits 0 for a usable file and lists the warnings on stderr', async () => {
    const result = await runCli(['config', 'validate', DEBIAN]);
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

  it('--json: one document with the warnings', async () => {
    const t = await testDeps();
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
});
