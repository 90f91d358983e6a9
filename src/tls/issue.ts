import type { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';

// @peculiar/x509 is loaded only by `tls init`: it pulls in a dependency-injection container and
// the Reflect polyfill it needs, which no other command should pay for at start-up.
async function loadX509(): Promise<typeof import('@peculiar/x509')> {
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(globalThis.crypto);
  return x509;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** Long enough never to be renewed by hand; the server certificate is the one that rotates. */
export const CA_DAYS = 3650;
/** Apple platforms refuse server certificates valid for more than 825 days, even from a private CA. */
export const MAX_SERVER_DAYS = 825;

export interface KeyPairPem {
  cert: string;
  /** PKCS#8 PEM */
  key: string;
}

export interface IssueOptions {
  /** DNS names and IP addresses for the server certificate. */
  hosts: string[];
  days: number;
  /** Reuse this CA (so existing trust stays valid); a new one otherwise. */
  ca?: KeyPairPem;
  now?: Date;
}

/** A local CA (new or given) and a server certificate it signs; nothing touches the disk. */
export async function issueCertificates(options: IssueOptions): Promise<{ ca: KeyPairPem; server: KeyPairPem }> {
  const x509 = await loadX509();
  const now = options.now ?? new Date();
  const notBefore = new Date(now.getTime() - 5 * 60_000); // tolerate clocks a little behind ours
  const ca = options.ca ? await importPair(x509, options.ca) : await createCa(x509, now, notBefore);

  const keys = (await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${escapeDn(options.hosts[0] ?? 'localhost')}, O=regctl`,
    issuer: ca.cert.subject,
    notBefore,
    notAfter: new Date(now.getTime() + options.days * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(options.hosts.map((h) => ({ type: isIP(h.replace(/^\[|\]$/g, '')) ? 'ip' : 'dns', value: h.replace(/^\[|\]$/g, '') }))),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  return { ca: { cert: ca.cert.toString('pem'), key: ca.keyPem }, server: { cert: cert.toString('pem'), key: await exportKey(x509, keys.privateKey) } };
}

type X509 = typeof import('@peculiar/x509');
interface Ca {
  cert: import('@peculiar/x509').X509Certificate;
  privateKey: webcrypto.CryptoKey;
  keyPem: string;
}

async function createCa(x509: X509, now: Date, notBefore: Date): Promise<Ca> {
  const keys = (await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    // The date tells two CAs of the same machine apart in a trust store listing.
    name: `CN=regctl local CA ${now.toISOString().slice(0, 10)}, O=regctl`,
    notBefore,
    notAfter: new Date(now.getTime() + CA_DAYS * DAY_MS),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, privateKey: keys.privateKey, keyPem: await exportKey(x509, keys.privateKey) };
}

async function importPair(x509: X509, pair: KeyPairPem): Promise<Ca> {
  const cert = new x509.X509Certificate(pair.cert);
  const der = x509.PemConverter.decodeFirst(pair.key);
  const privateKey = await crypto.subtle.importKey('pkcs8', der, ALGORITHM, true, ['sign']);
  return { cert, privateKey, keyPem: pair.key };
}

async function exportKey(x509: X509, key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/** 16 random bytes with the top bit clear: positive, as RFC 5280 requires, and unguessable. */
function serialNumber(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}

function escapeDn(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1');
}
