import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/connect.js';
import { TlsError } from '../../src/client/errors.js';
import { serverTls } from '../../src/commands/serve-security.js';
import { silentLogger } from '../../src/log/logger.js';
import { issueCertificates } from '../../src/tls/issue.js';
import { startServeProcess, type ServeProcess } from '../helpers/cli.js';
import { buildImage, uniqueRepo } from '../helpers/fixtures.js';
import { certify } from '../helpers/tls.js';
import { runProgram, testDeps, type TestDeps } from './helpers.js';

let t: TestDeps;
let configDir: string;
beforeAll(async () => {
  t = await testDeps();
  configDir = t.deps.env.REGCTL_CONFIG_DIR!;
  expect(await runProgram(t, ['tls', 'init', '--host', 'registry.test', '--json'])).toBeUndefined();
});

const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

describe('regctl tls init / show', () => {
  it('writes the CA and server certificate under the config dir, keys readable by the owner only', async () => {
    const result = JSON.parse(t.stdout());
    expect(result).toMatchObject({ dir: join(configDir, 'tls'), caCreated: true });
    expect(result.sans).toEqual(expect.arrayContaining(['localhost', '127.0.0.1', '::1', 'registry.test']));
    expect(await mode(join(configDir, 'tls', 'ca.key'))).toBe(0o600);
    expect(await mode(join(configDir, 'tls', 'server.key'))).toBe(0o600);
    expect(await mode(join(configDir, 'tls'))).toBe(0o700);
    expect(await readFile(join(configDir, 'tls', 'server.key'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('keeps the CA when run again, unless --new-ca', async () => {
    const again = await testDeps({ env: t.deps.env });
    const ca = await readFile(join(configDir, 'tls', 'ca.crt'), 'utf8');
    expect(await runProgram(again, ['tls', 'init', '--host', 'registry.test', '--json'])).toBeUndefined();
    expect(JSON.parse(again.stdout()).caCreated).toBe(false);
    expect(await readFile(join(configDir, 'tls', 'ca.crt'), 'utf8')).toBe(ca);
    const fresh = await testDeps();
    await runProgram(fresh, ['tls', 'init']);
    const other = await testDeps({ env: fresh.deps.env });
    await runProgram(other, ['tls', 'init', '--new-ca', '--json']);
    expect(JSON.parse(other.stdout()).caCreated).toBe(true);
  });

  it('refuses a --days above what clients accept and a --host that is no name', async () => {
    const u = await testDeps();
    expect(await runProgram(u, ['tls', 'init', '--days', '900'])).toMatchObject({ exitCode: 2 });
    expect(await runProgram(u, ['tls', 'init', '--host', 'bad name'])).toMatchObject({ exitCode: 2 });
  });

  it('shows subject, names and expiry, and warns under 30 days', async () => {
    const s = await testDeps({ env: t.deps.env });
    expect(await runProgram(s, ['tls', 'show', '--json'])).toBeUndefined();
    const shown = JSON.parse(s.stdout());
    expect(shown.certificate.subject).toContain('CN=localhost');
    expect(shown.certificate.sans).toContain('registry.test');
    expect(shown.certificate.daysLeft).toBeGreaterThan(360);
    expect(shown.ca.isCa).toBe(true);
    expect(shown.warnings).toEqual([]);

    const short = await testDeps();
    await runProgram(short, ['tls', 'init', '--days', '10']);
    const view = await testDeps({ env: short.deps.env });
    expect(await runProgram(view, ['tls', 'show'])).toBeUndefined();
    expect(view.stdout()).toMatch(/names {5}localhost, 127\.0\.0\.1, ::1/);
    expect(view.stderr()).toMatch(/warning: the certificate .* expires in 9 days/);
  });

  it('says how to create a certificate when there is none', async () => {
    const none = await testDeps();
    expect(await runProgram(none, ['tls', 'show'])).toMatchObject({ exitCode: 3, message: expect.stringMatching(/regctl tls init/) });
  });
});

describe('regctl tls trust', () => {
  it('writes the CA to <certs.d>/<host:port>/ca.crt for each address', async () => {
    const u = await testDeps({ env: t.deps.env });
    expect(await runProgram(u, ['tls', 'trust', '--json'])).toBeUndefined();
    const result = JSON.parse(u.stdout());
    const ca = await readFile(join(configDir, 'tls', 'ca.crt'), 'utf8');
    expect(result.docker.map((d: { registry: string }) => d.registry)).toEqual(['localhost:5000', '127.0.0.1:5000']);
    for (const registry of ['localhost:5000', '127.0.0.1:5000']) expect(await readFile(join(u.deps.certsDir, registry, 'ca.crt'), 'utf8')).toBe(ca);
    expect(result.commands).toEqual([]);

    const one = await testDeps({ env: t.deps.env });
    await runProgram(one, ['tls', 'trust', '--docker', '--addr', 'registry.test:5443']);
    expect(one.stdout()).toBe(`docker trusts registry.test:5443: ${join(one.deps.certsDir, 'registry.test:5443', 'ca.crt')}\n`);
  });

  it('prints the system trust commands for --system and writes nothing', async () => {
    const u = await testDeps({ env: t.deps.env });
    expect(await runProgram(u, ['tls', 'trust', '--system', '--json'])).toBeUndefined();
    const result = JSON.parse(u.stdout());
    expect(result.docker).toEqual([]);
    expect(result.commands.join('\n')).toContain(join(configDir, 'tls', 'ca.crt'));
    await expect(stat(u.deps.certsDir)).rejects.toThrow();
  });

  it('refuses an address that is not host:port', async () => {
    const u = await testDeps({ env: t.deps.env });
    expect(await runProgram(u, ['tls', 'trust', '--addr', 'localhost'])).toMatchObject({ exitCode: 2 });
  });
});

describe('regctl serve --tls', () => {
  let srv: ServeProcess;
  beforeAll(async () => {
    srv = await startServeProcess(['--ephemeral', '--tls', '--log-level', 'warn'], { REGCTL_CONFIG_DIR: configDir });
  });
  afterAll(async () => {
    await srv?.stop();
  });

  it('prints an https:// URL and serves pushes and pulls to a client that trusts the CA', async () => {
    expect(srv.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const host = new URL(srv.url).host;
    const client = await connect(host, 'https', { caFile: join(configDir, 'tls', 'ca.crt'), certsDir: t.deps.certsDir });
    try {
      const image = buildImage();
      const repo = uniqueRepo('tls');
      for (const blob of image.blobs) await client.pushBlob(repo, blob.digest, blob.size, () => Readable.from([blob.data]));
      await client.putManifest(repo, 'v1', image.manifest.body, image.manifest.mediaType);
      const pulled = await client.getManifest(repo, 'v1');
      expect(pulled.digest).toBe(image.manifest.digest);
      expect(pulled.body.equals(image.manifest.body)).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('fails with TlsError for a client that trusts another CA', async () => {
    const other = await issueCertificates({ hosts: ['localhost'], days: 1 });
    const caFile = join(configDir, 'other-ca.crt');
    await writeFile(caFile, other.ca.cert);
    const client = await connect(new URL(srv.url).host, 'https', { caFile, certsDir: t.deps.certsDir });
    try {
      await expect(client.ping()).rejects.toBeInstanceOf(TlsError);
    } finally {
      await client.close();
    }
  });

  it('refuses TLS 1.1', async () => {
    const ca = await readFile(join(configDir, 'tls', 'ca.crt'), 'utf8');
    const outcome = await new Promise<string>((resolve) => {
      const req = httpsRequest(`${srv.url}/v2/`, { ca, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }, (res) => resolve(String(res.statusCode)));
      req.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      req.end();
    });
    expect(outcome).not.toBe('200');
  });
});

describe('regctl serve --tls-client-ca', () => {
  it('serves only clients with a certificate from that CA', async () => {
    // Server certificates say serverAuth only, so a client certificate comes from the test helper.
    const clientsCa = await certify({ commonName: 'clients CA', ca: true });
    const client = await certify({ commonName: 'ci-bot', issuer: clientsCa });
    const caFile = join(configDir, 'clients-ca.crt');
    await writeFile(caFile, clientsCa.cert);
    const srv = await startServeProcess(['--ephemeral', '--tls', '--tls-client-ca', caFile], { REGCTL_CONFIG_DIR: configDir });
    const ca = await readFile(join(configDir, 'tls', 'ca.crt'), 'utf8');
    const get = (extra: { cert?: string; key?: string }): Promise<string> =>
      new Promise((resolve) => {
        const req = httpsRequest(`${srv.url}/v2/`, { ca, ...extra }, (res) => {
          res.resume();
          resolve(String(res.statusCode));
        });
        req.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
        req.end();
      });
    try {
      expect(await get({ cert: client.cert, key: client.key })).toBe('200');
      expect(await get({})).not.toBe('200');
    } finally {
      await srv.stop();
    }
  });

  it('refuses start-up without a certificate, naming the fix', async () => {
    const empty = await testDeps();
    const srv = startServeProcess(['--ephemeral', '--tls'], { REGCTL_CONFIG_DIR: empty.deps.env.REGCTL_CONFIG_DIR! });
    await expect(srv).rejects.toThrow(/no certificate file at .*server\.crt: create it with regctl tls init/);
  });
});

describe('TLS files that cannot serve', () => {
  it('say in plain words what is wrong and how to fix it, with the right exit code', async () => {
    const dir = (await testDeps()).deps.env.REGCTL_CONFIG_DIR!;
    await mkdir(dir, { recursive: true });
    const one = await certify({ commonName: 'one' });
    const other = await certify({ commonName: 'other' });
    const file = async (name: string, text: string) => {
      await writeFile(join(dir, name), text);
      return join(dir, name);
    };
    const [cert, key, otherKey] = [await file('one.crt', one.cert), await file('one.key', one.key), await file('other.key', other.key)];
    const fails = (certificate: string, keyFile: string) => serverTls({ certificate, key: keyFile }, silentLogger).catch((e: unknown) => e);

    expect(await fails(key, cert)).toMatchObject({ exitCode: 2, message: `${key} is a private key and ${cert} a certificate: swap --tls-cert and --tls-key` });
    expect(await fails(cert, otherKey)).toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(new RegExp(`^the key ${otherKey} does not belong to the certificate ${cert}: pass the key the certificate was made with \\(.*key values mismatch\\)$`)),
    });
    expect(await fails(join(dir, 'nonexist.crt'), key)).toMatchObject({
      exitCode: 3,
      message: `no certificate file at ${join(dir, 'nonexist.crt')}: correct the path given to --tls-cert (or in the config file)`,
    });
    expect(await fails(cert, cert)).toMatchObject({ exitCode: 2, message: `${cert} holds no PEM private key ("-----BEGIN … PRIVATE KEY-----"): pass the private key to --tls-key` });
    expect(await fails(dir, key)).toMatchObject({ exitCode: 2, message: `${dir} is a directory, not a PEM certificate file: correct the path given to --tls-cert (or in the config file)` });
    expect(await serverTls({ certificate: cert, key }, silentLogger)).toMatchObject({ certFile: cert });
  });
});
