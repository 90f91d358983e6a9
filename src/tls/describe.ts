import { X509Certificate } from 'node:crypto';

export interface CertificateInfo {
  subject: string;
  issuer: string;
  /** DNS names and IP addresses the certificate is valid for. */
  sans: string[];
  notBefore: string;
  notAfter: string;
  /** Whole days until expiry; negative once expired. */
  daysLeft: number;
  /** SHA-256 of the DER, as `openssl x509 -fingerprint -sha256` prints it. */
  sha256: string;
  isCa: boolean;
}

/** Under this many days left, `tls show` and `serve --tls` warn. */
export const EXPIRY_WARNING_DAYS = 30;

/** Reads a PEM certificate with node's parser: showing needs no X.509 library. */
export function describeCertificate(pem: string, now: Date = new Date()): CertificateInfo {
  const cert = new X509Certificate(pem);
  const notAfter = new Date(cert.validTo);
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    sans: parseSans(cert.subjectAltName),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: notAfter.toISOString(),
    daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000),
    sha256: cert.fingerprint256,
    isCa: cert.ca,
  };
}

/** Node writes `DNS:localhost, IP Address:127.0.0.1`; keep just the names and addresses. */
function parseSans(value: string | undefined): string[] {
  if (!value) return [];
  return value.split(', ').map((entry) => {
    const name = entry.replace(/^(DNS|IP Address):/, '');
    // Node spells IPv6 out in full (0:0:0:0:0:0:0:1); the URL parser writes the usual short form.
    return entry.startsWith('IP Address:') && name.includes(':') ? new URL(`http://[${name}]`).hostname.slice(1, -1) : name;
  });
}

/** A warning line for certificates close to (or past) expiry, or undefined. */
export function expiryWarning(info: CertificateInfo, what: string): string | undefined {
  if (info.daysLeft < 0) return `${what} expired on ${info.notAfter.slice(0, 10)}; renew it with regctl tls init`;
  if (info.daysLeft < EXPIRY_WARNING_DAYS) return `${what} expires in ${info.daysLeft} days (${info.notAfter.slice(0, 10)}); renew it with regctl tls init`;
  return undefined;
}
