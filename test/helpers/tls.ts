// Test certificates. Keys come from node:crypto; node cannot write X.509, so `openssl req -x509`
// (Debian's openssl, 3.0 or later for `-CA`) wraps them in certificates, one temp dir per call.
import { execFile } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertifiedKey {
  /** PKCS#8 PEM */
  key: string;
  /** PEM */
  cert: string;
  privateKey: KeyObject;
}

export interface CertificateOptions {
  commonName: string;
  /** Subject alternative names: IP addresses and DNS names (for TLS servers). */
  hosts?: string[];
  /** A CA may sign others (`issuer` of a later call). */
  ca?: boolean;
  /** Signs with this CA instead of self-signing. */
  issuer?: CertifiedKey;
  /** An existing key to certify; a fresh P-256 key otherwise. */
  privateKey?: KeyObject;
}

/** A P-256 key and a one-day certificate for it. */
export async function certify(options: CertificateOptions): Promise<CertifiedKey> {
  const privateKey = options.privateKey ?? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const dir = await mkdtemp(join(tmpdir(), 'regctl-cert-'));
  try {
    const sans = (options.hosts ?? []).map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`));
    // The CNCF registry takes a token's signing certificate only with digitalSignature in its key usage.
    const extensions = [
      `basicConstraints = critical, CA:${options.ca ? 'TRUE' : 'FALSE'}`,
      `keyUsage = critical, digitalSignature${options.ca ? ', keyCertSign' : ''}`,
      'subjectKeyIdentifier = hash',
      ...(sans.length ? [`subjectAltName = ${sans.join(', ')}`] : []),
    ];
    const config = ['[req]', 'prompt = no', 'distinguished_name = dn', 'x509_extensions = ext', '[dn]', `CN = ${options.commonName}`, '[ext]', ...extensions, ''];
    await writeFile(join(dir, 'openssl.cnf'), config.join('\n'));
    await writeFile(join(dir, 'key.pem'), key, { mode: 0o600 });
    const args = ['req', '-x509', '-new', '-config', join(dir, 'openssl.cnf'), '-key', join(dir, 'key.pem'), '-days', '1', '-out', join(dir, 'cert.pem')];
    if (options.issuer) {
      await writeFile(join(dir, 'ca.pem'), options.issuer.cert);
      await writeFile(join(dir, 'ca-key.pem'), options.issuer.key, { mode: 0o600 });
      args.push('-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca-key.pem'));
    }
    await openssl(args);
    return { key, cert: await readFile(join(dir, 'cert.pem'), 'utf8'), privateKey };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The base64 DER body of a PEM certificate: what a JWT's `x5c` header carries. */
export function pemBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

function openssl(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { timeout: 20_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(new Error(missing ? 'openssl is not installed (apt-get install openssl)' : `openssl ${args[0]} failed: ${stderr.trim() || err.message}`));
    });
  });
}
