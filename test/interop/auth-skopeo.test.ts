// skopeo (containers/image) against regctl's token service and access rules: --creds over plain
// HTTP, --cert-dir against a TLS serve, anonymous pulls of the public namespace, refusals, and a
// server whose certificate has expired (skopeo and the regctl client both say so).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/client/client.js';
import { TlsError } from '../../src/client/errors.js';
import { issueCertificates } from '../../src/tls/issue.js';
import { startAuthRegistry, type AuthRegistry } from '../auth/fixture.js';
import { buildImageFixture, localName, writeLocal, type Fixture } from '../helpers/images.js';
import { INTEROP_TIMEOUT_MS, interopGate, skopeo, tempDir, type TempDir } from '../helpers/interop.js';

const ready = interopGate('skopeo auth suite', ['skopeo']);
const DAY_MS = 86_400_000;

describe.runIf(ready)('skopeo against regctl token auth and access rules', { timeout: INTEROP_TIMEOUT_MS }, () => {
  let scratch: TempDir;
  let fixture: Fixture;
  let source: string;

  beforeAll(async () => {
    scratch = await tempDir('skopeo-auth');
    fixture = await buildImageFixture({ format: 'oci', layers: 2 });
    await writeLocal(join(scratch.path, 'layout'), 'img', fixture);
    source = localName('oci', join(scratch.path, 'layout'), 'img');
  });
  afterAll(() => scratch?.remove());

  describe('over plain HTTP', () => {
    let reg: AuthRegistry;
    beforeAll(async () => {
      reg = await startAuthRegistry({ token: true });
    });
    afterAll(() => reg?.close());
    const remote = (name: string) => `docker://${reg.server.host}/${name}:v1`;

    it('pushes and reads back with --creds through the token service', async () => {
      await skopeo('copy', '--dest-tls-verify=false', '--dest-creds', 'bob:bob-pw', source, remote('team-a/skopeo'));
      const inspected = JSON.parse(await skopeo('inspect', '--tls-verify=false', '--creds', 'alice:alice-pw', remote('team-a/skopeo'))) as { Digest: string };
      expect(inspected.Digest).toBe(fixture.top.digest);
    });

    it('is refused with a wrong password, a forbidden scope, or no credentials', async () => {
      await expect(skopeo('inspect', '--tls-verify=false', '--creds', 'bob:nope', remote('team-a/skopeo'))).rejects.toThrow(/invalid username or password|unauthorized/i);
      await expect(skopeo('inspect', '--tls-verify=false', '--creds', 'mallory:mallory-pw', remote('team-a/skopeo'))).rejects.toThrow(/denied: requested access to the resource is denied/);
      await expect(skopeo('copy', '--dest-tls-verify=false', '--dest-creds', 'mallory:mallory-pw', source, remote('team-a/by-mallory'))).rejects.toThrow(/403 \(Forbidden\)/);
      await expect(skopeo('inspect', '--tls-verify=false', '--no-creds', remote('team-a/skopeo'))).rejects.toThrow(/unauthorized|authentication required/i);
    });

    it('pulls the public namespace without credentials, while a push there is refused', async () => {
      await skopeo('copy', '--dest-tls-verify=false', '--dest-creds', 'root:root-pw', source, remote('public/skopeo'));
      const inspected = JSON.parse(await skopeo('inspect', '--tls-verify=false', '--no-creds', remote('public/skopeo'))) as { Digest: string };
      expect(inspected.Digest).toBe(fixture.top.digest);
      await expect(skopeo('copy', '--dest-tls-verify=false', '--dest-no-creds', source, remote('public/anonymous'))).rejects.toThrow(/unauthorized|authentication required/i);
      expect(reg.log.join('')).not.toMatch(/bob-pw|alice-pw|root-pw|mallory-pw/);
    });
  });

  describe('over Basic auth with access rules (no token service)', () => {
    let reg: AuthRegistry;
    let noLogins: string;
    beforeAll(async () => {
      reg = await startAuthRegistry();
      // An auth file without entries: skopeo then sends `Basic Og==` (empty user and password).
      noLogins = join(scratch.path, 'no-logins.json');
      await writeFile(noLogins, '{"auths":{}}');
    });
    afterAll(() => reg?.close());
    const remote = (name: string) => `docker://${reg.server.host}/${name}:v1`;

    it('pulls the public namespace without a login, and still asks for one elsewhere', async () => {
      await skopeo('copy', '--dest-tls-verify=false', '--dest-creds', 'root:root-pw', source, remote('public/basic'));
      for (const anonymous of [['--no-creds'], ['--authfile', noLogins]]) {
        const inspected = JSON.parse(await skopeo('inspect', '--tls-verify=false', ...anonymous, remote('public/basic'))) as { Digest: string };
        expect(inspected.Digest).toBe(fixture.top.digest);
      }
      await skopeo('copy', '--src-tls-verify=false', '--authfile', noLogins, remote('public/basic'), `dir:${join(scratch.path, 'basic-pulled')}`);
      await expect(skopeo('inspect', '--tls-verify=false', '--authfile', noLogins, remote('team-a/basic'))).rejects.toThrow(/authentication required|unauthorized/i);
      expect(reg.log.join('')).not.toMatch(/unsupported Authorization scheme|root-pw/);
    });
  });

  describe('over TLS', () => {
    let certDir: string;
    let ca: string;
    let reg: AuthRegistry;
    let expired: AuthRegistry;

    beforeAll(async () => {
      const valid = await issueCertificates({ hosts: ['127.0.0.1'], days: 1 });
      // Issued ten days ago for one day: expired nine days ago, by a CA that is still valid.
      const old = await issueCertificates({ hosts: ['127.0.0.1'], days: 1, ca: valid.ca, now: new Date(Date.now() - 10 * DAY_MS) });
      ca = valid.ca.cert;
      certDir = join(scratch.path, 'certs');
      await mkdir(certDir, { recursive: true });
      await writeFile(join(certDir, 'ca.crt'), ca);
      reg = await startAuthRegistry({ token: true, tls: valid.server });
      expired = await startAuthRegistry({ token: true, tls: old.server });
    });
    afterAll(async () => {
      await reg?.close();
      await expired?.close();
    });

    it('pushes and pulls with --cert-dir and --creds, the token fetched over HTTPS too', async () => {
      const remote = `docker://${reg.server.host}/team-a/tls:v1`;
      await skopeo('copy', '--dest-cert-dir', certDir, '--dest-creds', 'bob:bob-pw', source, remote);
      const inspected = JSON.parse(await skopeo('inspect', '--cert-dir', certDir, '--creds', 'bob:bob-pw', remote)) as { Digest: string };
      expect(inspected.Digest).toBe(fixture.top.digest);
      // Without the CA, skopeo refuses the certificate.
      await expect(skopeo('inspect', '--creds', 'bob:bob-pw', remote)).rejects.toThrow(/x509: certificate signed by unknown authority/);
    });

    it('fails clearly when the server certificate has expired', async () => {
      await expect(skopeo('inspect', '--cert-dir', certDir, '--creds', 'bob:bob-pw', `docker://${expired.server.host}/team-a/tls:v1`)).rejects.toThrow(
        /x509: certificate has expired or is not yet valid/,
      );
      const client = new RegistryClient({ registry: expired.server.host, scheme: 'https', tls: { ca: [ca] }, credentials: async () => ({ username: 'bob', password: 'bob-pw' }), retries: 0 });
      try {
        const err = await client.ping().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(TlsError);
        expect((err as Error).message).toBe(`the certificate of ${expired.server.host} has expired`);
      } finally {
        await client.close();
      }
    });
  });
});
