import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/cli/errors.js';
import { ConfigError } from '../../src/config/errors.js';
import { applyServeFlags } from '../../src/config/flags.js';
import { loadServeConfig } from '../../src/config/load.js';
import { MASK, maskSecrets } from '../../src/config/mask.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const DEBIAN = join(FIXTURES, 'debian-docker-registry.yml');
const FULL = join(FIXTURES, 'cncf-s3-full.yml');
const ENV = { HOME: '/home/someone' };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'regctl-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
async function configFile(text: string): Promise<string> {
  const file = join(dir, `config-${++n}.yml`);
  await writeFile(file, text);
  return file;
}

/** The ConfigError a load throws (the test fails when it loads). */
async function loadError(text: string, env: NodeJS.ProcessEnv = ENV): Promise<{ file: string; error: ConfigError }> {
  const file = await configFile(text);
  const error = await loadServeConfig({ file, env }).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return { file, error: error as ConfigError };
}

describe('loading a CNCF config.yml', () => {
  it("reads the file Debian's docker-registry package ships, warning about what regctl ignores", async () => {
    const { config, warnings } = await loadServeConfig({ file: DEBIAN, env: ENV });
    expect(config.http).toEqual({ addr: ':5000' });
    expect(config.storage).toMatchObject({ driver: 'filesystem', rootDirectory: '/var/lib/docker-registry', delete: true, readOnly: false });
    expect(config.auth.htpasswd).toEqual({ path: '/etc/docker/registry' });
    expect(warnings.map((w) => [w.key, w.where])).toEqual([
      ['log.fields', `${DEBIAN}:3`],
      ['storage.cache', `${DEBIAN}:6`],
      ['http.headers', `${DEBIAN}:14`],
      ['auth.htpasswd.realm', `${DEBIAN}:18`],
      ['health', `${DEBIAN}:20`],
    ]);
    expect(warnings[0]!.message).toBe('log.fields is not supported by regctl; ignored');
  });

  it('reads every section regctl supports', async () => {
    const { config, warnings } = await loadServeConfig({ file: FULL, env: ENV });
    expect(config.http).toEqual({
      addr: '127.0.0.1:5443',
      tls: { certificate: '/etc/registry/server.crt', key: '/etc/registry/server.key', clientCas: ['/etc/registry/client-ca-1.pem', '/etc/registry/client-ca-2.pem'] },
      debugAddr: '127.0.0.1:5001',
    });
    expect(config.storage).toEqual({
      driver: 's3',
      s3: {
        bucket: 'registry',
        region: 'us-east-1',
        regionEndpoint: 'http://127.0.0.1:7480',
        forcePathStyle: true,
        accessKey: 'AKIAEXAMPLE',
        secretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
        rootDirectory: 'regctl',
        chunkSize: 16 * 1024 * 1024,
        redirect: false,
      },
      delete: true,
      readOnly: false,
      uploadPurging: { enabled: true, ageMs: 72 * 3_600_000, intervalMs: 12 * 3_600_000, dryRun: true },
    });
    expect(config.auth).toEqual({
      htpasswd: { path: '/etc/registry/htpasswd' },
      accessRulesFile: '/etc/registry/access.yml',
      rateLimit: { failures: 5, windowMs: 120_000 },
      token: { service: 'registry.example.com', issuer: 'regctl-auth', keyFile: '/etc/registry/token-key.pem', expirationMs: 900_000 },
    });
    expect(config.log).toEqual({ level: 'debug', format: 'json' });
    expect(config.notifications.queueLimit).toBe(500);
    expect(config.notifications.endpoints).toEqual([
      {
        name: 'ci',
        url: 'https://ci.example.com/hooks/registry',
        headers: { Authorization: ['Bearer s3cr3t-token'], 'X-Team': ['platform'] },
        timeoutMs: 500,
        threshold: 5,
        backoffMs: 1000,
        ignoredMediaTypes: ['application/octet-stream', 'application/vnd.oci.image.config.v1+json'],
        ignoredActions: ['pull'],
        secret: 'hmac-key-1',
        disabled: false,
      },
      { name: 'audit', url: 'http://127.0.0.1:9000/events', headers: {}, timeoutMs: 5000, threshold: 10, backoffMs: 10_000, ignoredMediaTypes: [], ignoredActions: [], disabled: true },
    ]);
    expect(config.proxy.upstreams).toEqual([
      { prefix: '', remoteUrl: 'https://registry-1.docker.io', username: 'hubuser', password: 'hubpassword', ttlMs: 5 * 60_000, cacheTtlMs: 168 * 3_600_000 },
      { prefix: 'ghcr.io', remoteUrl: 'https://ghcr.io', ttlMs: 600_000, cacheTtlMs: 24 * 3_600_000 },
    ]);
    expect(config.regctl).toEqual({ gcIntervalMs: 6 * 3_600_000, shutdownTimeoutMs: 20_000, metrics: true });
    expect(warnings.map((w) => w.key)).toEqual(['storage.s3.secure', 'http.secret', 'notifications.events', 'redis', 'health']);
  });

  it('takes http.draintimeout and http.debug.prometheus when regctl: says nothing', async () => {
    const file = await configFile('version: 0.1\nhttp:\n  addr: :5000\n  draintimeout: 45s\n  debug:\n    addr: :5001\n    prometheus:\n      enabled: true\n');
    const { config } = await loadServeConfig({ file, env: ENV });
    expect(config.regctl).toMatchObject({ shutdownTimeoutMs: 45_000, metrics: true });
  });

  it('reads a file the CNCF way: deletes off unless enabled, upload purging on by default', async () => {
    const file = await configFile('version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /srv/registry\n');
    const { config, warnings } = await loadServeConfig({ file, env: ENV });
    expect(config.storage).toMatchObject({ delete: false, uploadPurging: { enabled: true, ageMs: 604_800_000, intervalMs: 86_400_000, dryRun: false } });
    expect(warnings).toEqual([]);
  });

  it('`regctl.auth.token:` alone turns the token service on with its defaults', async () => {
    const { config } = await loadServeConfig({ file: await configFile('version: 0.1\nregctl:\n  auth:\n    token:\n'), env: { REGCTL_CONFIG_DIR: '/etc/regctl' } });
    expect(config.auth.token).toEqual({ service: 'regctl', issuer: 'regctl', keyFile: '/etc/regctl/token/key.pem', expirationMs: 300_000 });
  });

  it('accepts `storage: inmemory` and `storage: {inmemory: }`', async () => {
    for (const text of ['version: 0.1\nstorage: inmemory\n', 'version: 0.1\nstorage:\n  inmemory:\n']) {
      const { config } = await loadServeConfig({ file: await configFile(text), env: ENV });
      expect(config.storage.driver).toBe('inmemory');
    }
  });

  it('without a file: regctl defaults (127.0.0.1:5000, the XDG data directory, deletes on)', async () => {
    const { config, warnings } = await loadServeConfig({ env: ENV });
    expect(config.http.addr).toBe('127.0.0.1:5000');
    expect(config.storage).toMatchObject({ driver: 'filesystem', rootDirectory: '/home/someone/.local/share/regctl/registry', delete: true });
    expect(warnings).toEqual([]);
  });
});

describe('REGISTRY_* environment overrides', () => {
  it('override the file, case-insensitively, with YAML values', async () => {
    const env = {
      ...ENV,
      REGISTRY_HTTP_ADDR: '127.0.0.1:6000',
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/data/registry',
      REGISTRY_STORAGE_DELETE_ENABLED: 'false',
      REGISTRY_LOG_LEVEL: 'warn',
      REGISTRY_AUTH_HTPASSWD_PATH: '/run/secrets/htpasswd',
      REGISTRY_REGCTL_GCINTERVAL: '1h',
    };
    const { config } = await loadServeConfig({ file: DEBIAN, env });
    expect(config.http.addr).toBe('127.0.0.1:6000');
    expect(config.storage).toMatchObject({ driver: 'filesystem', rootDirectory: '/data/registry', delete: false });
    expect(config.log.level).toBe('warn');
    expect(config.auth.htpasswd).toEqual({ path: '/run/secrets/htpasswd' });
    expect(config.regctl.gcIntervalMs).toBe(3_600_000);
  });

  it('REGISTRY_STORAGE=s3 replaces the driver section, then REGISTRY_STORAGE_S3_* fill it', async () => {
    const env = { ...ENV, REGISTRY_STORAGE: 's3', REGISTRY_STORAGE_S3_BUCKET: 'images', REGISTRY_STORAGE_S3_REGION: 'eu-west-1', REGISTRY_STORAGE_S3_FORCEPATHSTYLE: 'true' };
    const { config } = await loadServeConfig({ file: DEBIAN, env });
    expect(config.storage).toMatchObject({ driver: 's3', s3: { bucket: 'images', region: 'eu-west-1', forcePathStyle: true, redirect: true } });
  });

  it('apply without a file too, and leave other REGISTRY_ variables (REGISTRY_URL) alone', async () => {
    const { config, warnings } = await loadServeConfig({ env: { ...ENV, REGISTRY_HTTP_ADDR: ':7000', REGISTRY_URL: 'http://x' } });
    expect(config.http.addr).toBe(':7000');
    expect(warnings).toEqual([]);
  });

  it('a wrong value names the variable', async () => {
    const err = await loadServeConfig({ env: { ...ENV, REGISTRY_STORAGE_DELETE_ENABLED: 'sometimes' } }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('REGISTRY_STORAGE_DELETE_ENABLED: storage.delete.enabled is "sometimes"; write true or false');
  });

  it('an unknown key set from the environment is a warning naming the variable', async () => {
    const { warnings } = await loadServeConfig({ env: { ...ENV, REGISTRY_HTTP_SECRET: 'x' } });
    expect(warnings).toEqual([{ key: 'http.secret', where: 'REGISTRY_HTTP_SECRET', message: 'http.secret is not supported by regctl; ignored' }]);
  });
});

describe('precedence: defaults < file < environment < flags', () => {
  it('each layer wins over the one before, setting by setting', async () => {
    const file = await configFile('version: 0.1\nhttp:\n  addr: 127.0.0.1:5001\nlog:\n  level: debug\nstorage:\n  filesystem:\n    rootdirectory: /from/file\n  delete:\n    enabled: true\n');
    const { config } = await loadServeConfig({ file, env: { ...ENV, REGISTRY_LOG_LEVEL: 'warn', REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/from/env' } });
    expect(config.log.format).toBe('text'); // default
    expect(config.http.addr).toBe('127.0.0.1:5001'); // file
    expect(config.log.level).toBe('warn'); // environment over file
    expect(config.storage).toMatchObject({ rootDirectory: '/from/env', delete: true });
    const flagged = applyServeFlags(config, { root: '/from/flag', delete: false, logLevel: 'error', gcInterval: 60_000 });
    expect(flagged.storage).toMatchObject({ driver: 'filesystem', rootDirectory: '/from/flag', delete: false });
    expect(flagged.log.level).toBe('error');
    expect(flagged.http.addr).toBe('127.0.0.1:5001');
    expect(flagged.regctl.gcIntervalMs).toBe(60_000);
  });

  it('every serve flag maps onto its setting', async () => {
    const { config } = await loadServeConfig({ env: ENV });
    const flagged = applyServeFlags(config, {
      addr: ':9000',
      readOnly: true,
      logFormat: 'json',
      shutdownTimeout: 1234,
      tlsCert: '/c.pem',
      tlsKey: '/k.pem',
      tlsClientCa: '/ca.pem',
      htpasswd: '/h',
    });
    expect(flagged.http).toEqual({ addr: ':9000', tls: { certificate: '/c.pem', key: '/k.pem', clientCas: ['/ca.pem'] } });
    expect(flagged.storage.readOnly).toBe(true);
    expect(flagged.log.format).toBe('json');
    expect(flagged.regctl.shutdownTimeoutMs).toBe(1234);
    expect(flagged.auth.htpasswd).toEqual({ path: '/h' });
    expect(applyServeFlags(config, { tls: true }).http.tls).toEqual({ useGenerated: true });
    expect(() => applyServeFlags(config, { tlsClientCa: '/ca.pem' })).toThrow(/--tls-client-ca needs --tls/);
    expect(() => applyServeFlags(config, { tlsCert: '/c.pem' })).toThrow('--tls-cert and --tls-key go together');
  });
});

describe('invalid files: FILE:LINE: what is wrong; how to fix', () => {
  it.each([
    ['version: 0.1\nhttp:\n  addr: :5000\n   tls: x\n', 3, /^bad indentation of a mapping entry|^all mapping items must start at the same column|^nested mappings are not allowed/i],
    ['version: 0.1\nhttp:\n  addr: :5000\nhttp:\n  addr: :6000\n', 4, /^map keys must be unique; fix the YAML there/],
    ['http:\n  addr: :5000\n', 1, /^version is missing; add "version: 0.1" as the first line$/],
    ['version: 0.2\n', 1, /^version 0.2 is not supported; write "version: 0.1"$/],
    ['version: 0.1\nstorage:\n  delete:\n    enabled: maybe\n', 4, /^storage.delete.enabled is "maybe"; write true or false$/],
    ['version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /a\n  maintenance:\n    uploadpurging:\n      age: 7 days\n', 7, /^storage.maintenance.uploadpurging.age is "7 days"; write a duration with a unit, e.g. 500ms, 10s, 15m or 168h$/],
    ['version: 0.1\nstorage:\n  azure:\n    accountname: x\n', 3, /^storage.azure is a storage driver regctl does not have; use one of filesystem, inmemory, s3$/],
    ['version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /a\n  inmemory:\n', 5, /^storage.inmemory is a second storage driver \(besides filesystem\); keep exactly one$/],
    ['version: 0.1\nstorage:\n  s3:\n    region: us-east-1\n', 3, /^storage.s3.bucket is missing; add it, e.g. bucket: registry$/],
    ['version: 0.1\nstorage:\n  s3:\n    bucket: b\n    region: r\n    chunksize: 1024\n', 6, /^storage.s3.chunksize is 1024; write a whole number of at least 5242880$/],
    ['version: 0.1\nhttp:\n  addr: localhost\n', 3, /^http.addr "localhost" is not an address; expected HOST:PORT/],
    ['version: 0.1\nhttp: 5000\n', 2, /^http is 5000; write a mapping of settings/],
    ['version: 0.1\nhttp:\n  debug:\n    addr: 15104\n', 4, /^http.debug.addr "15104" is not an address; expected HOST:PORT/],
    ['version: 0.1\nregctl:\n  auth:\n    ratelimit: ten\n', 4, /^regctl.auth.ratelimit is "ten"; write a mapping of settings \(indented keys below it, e.g. failures: 10 and window: 1m\)$/],
    ['version: 0.1\nstorage:\n  filesytem:\n    rootdirectory: /x\n', 3, /^storage.filesytem is not a storage driver \(did you mean storage.filesystem\?\); use one of filesystem, inmemory, s3$/],
    ['version: 0.1\nlog:\n  level: verbose\n', 3, /^log.level "verbose" is not a level; write one of debug, info, warn, error, silent$/],
    ['version: 0.1\nnotifications:\n  endpoints:\n    - name: a\n      url: ftp://x\n', 5, /^notifications.endpoints\[0\].url is "ftp:\/\/x"; write an http\(s\) URL/],
    ['version: 0.1\nhttp:\n  tls:\n    certificate: /c.pem\n', 3, /^http.tls.key is missing; give certificate and key together/],
    ['- just\n- a list\n', 1, /^the file must be a YAML mapping/],
  ])('%j → line %i', async (text, line, message) => {
    const { file, error } = await loadError(text);
    expect(error.where).toBe(`${file}:${line}`);
    expect(error.problem).toMatch(message);
    expect(error.message.split('\n')).toHaveLength(1);
    expect(error.exitCode).toBe(ExitCode.usage);
  });

  it('a missing file exits 3 with what to do', async () => {
    const err = (await loadServeConfig({ file: join(dir, 'nope.yml'), env: ENV }).catch((e: unknown) => e)) as { message: string; exitCode: number };
    expect(err.message).toMatch(/^no config file at .*nope.yml; write one with regctl init/);
    expect(err.exitCode).toBe(ExitCode.notFound);
  });

  it('a misspelt key is a warning that names the key it resembles', async () => {
    const file = await configFile('version: 0.1\nhttp:\n  adr: :6000\n');
    const { config, warnings } = await loadServeConfig({ file, env: ENV });
    expect(warnings).toEqual([{ key: 'http.adr', where: `${file}:3`, message: 'http.adr is not a setting regctl knows (did you mean http.addr?); ignored' }]);
    expect(config.http.addr).toBe('127.0.0.1:5000');
  });

  it('a bad value from a REGISTRY_* variable names the variable and the value, not the line it replaced', async () => {
    const file = await configFile('version: 0.1\nhttp:\n  addr: :5000\n');
    const err = (await loadServeConfig({ file, env: { ...ENV, REGISTRY_HTTP_ADDR: 'bogus' } }).catch((e: unknown) => e)) as Error;
    expect(err.message).toBe('REGISTRY_HTTP_ADDR: http.addr "bogus" is not an address; expected HOST:PORT, :PORT or [IPv6]:PORT (e.g. 127.0.0.1:5000)');
  });

  it('an unknown key is a warning with its line, suggesting nothing was applied', async () => {
    const file = await configFile('version: 0.1\nhttp:\n  addr: :5000\n  adr: :6000\n');
    const { warnings } = await loadServeConfig({ file, env: ENV });
    expect(warnings).toEqual([{ key: 'http.adr', where: `${file}:4`, message: 'http.adr is not a setting regctl knows; ignored' }]);
  });
});

describe('masking secrets for print', () => {
  it('masks passwords, the S3 secret key, notification secrets and Authorization headers; keeps the rest', async () => {
    const { config } = await loadServeConfig({ file: FULL, env: ENV });
    const masked = maskSecrets(config);
    const text = JSON.stringify(masked);
    for (const secret of ['wJalrXUtnFEMI', 'hubpassword', 'hmac-key-1', 's3cr3t-token']) expect(text).not.toContain(secret);
    expect(masked.storage.driver === 's3' && masked.storage.s3).toMatchObject({ accessKey: 'AKIAEXAMPLE', secretKey: MASK });
    expect(masked.notifications.endpoints[0]!.headers).toEqual({ Authorization: [MASK], 'X-Team': ['platform'] });
    expect(masked.proxy.upstreams[0]).toMatchObject({ username: 'hubuser', password: MASK });
    // The original is untouched: the server still needs the real values.
    expect(config.proxy.upstreams[0]!.password).toBe('hubpassword');
  });
});
