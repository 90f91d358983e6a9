import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { describeCertificate, expiryWarning } from '../../src/tls/describe.js';
import { issueCertificates } from '../../src/tls/issue.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((done) => s.close(done))));
});

async function serveTls(cert: string, key: string): Promise<number> {
  const server = createServer({ cert, key, minVersion: 'TLSv1.2' }, (socket) => socket.end('ok'));
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return (server.address() as AddressInfo).port;
}

/** Resolves with what the server said, or rejects with the TLS error code. */
function handshake(port: number, servername: string, ca?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername, ca, minVersion: 'TLSv1.2' }, () => {
      let text = '';
      socket.on('data', (d) => (text += d));
      socket.on('end', () => resolve(text));
    });
    socket.once('error', reject);
  });
}

describe('issueCertificates', () => {
  it('makes a P-256 CA and a server certificate for every host, which TLS clients verify with the CA only', async () => {
    const { ca, server } = await issueCertificates({ hosts: ['localhost', '127.0.0.1', '::1', 'registry.test'], days: 30 });
    const caCert = new X509Certificate(ca.cert);
    const leaf = new X509Certificate(server.cert);
    expect(caCert.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(caCert)).toBe(true);
    expect(leaf.verify(caCert.publicKey)).toBe(true);
    expect(leaf.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(leaf.checkHost('registry.test')).toBe('registry.test');
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.checkIP('::1')).toBe('::1');

    const port = await serveTls(server.cert, server.key);
    await expect(handshake(port, 'localhost', ca.cert)).resolves.toBe('ok');
    await expect(handshake(port, 'registry.test', ca.cert)).resolves.toBe('ok');
    await expect(handshake(port, 'localhost')).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    await expect(handshake(port, 'other.test', ca.cert)).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  it('signs with a given CA, so trust set up for it stays valid', async () => {
    const first = await issueCertificates({ hosts: ['localhost'], days: 30 });
    const second = await issueCertificates({ hosts: ['localhost'], days: 30, ca: first.ca });
    expect(second.ca).toEqual(first.ca);
    expect(new X509Certificate(second.server.cert).checkIssued(new X509Certificate(first.ca.cert))).toBe(true);
    expect(second.server.key).not.toBe(first.server.key);
  });

  it('is described with names, expiry and a warning close to it', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const { server } = await issueCertificates({ hosts: ['localhost', '::1'], days: 20, now });
    const info = describeCertificate(server.cert, now);
    expect(info.sans).toEqual(['localhost', '::1']);
    expect(info.daysLeft).toBe(20);
    expect(info.subject).toContain('CN=localhost');
    expect(expiryWarning(info, 'it')).toMatch(/^it expires in 20 days \(2030-01-21\)/);
    expect(expiryWarning(describeCertificate(server.cert, new Date('2031-01-01')), 'it')).toMatch(/^it expired on 2030-01-21/);
    expect(expiryWarning(describeCertificate(server.cert, new Date('2029-11-01')), 'it')).toBeUndefined();
  });
});
