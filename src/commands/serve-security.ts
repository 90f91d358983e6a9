import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { AuthSetupError, createServerAuth } from '../auth/create.js';
import type { ServerAuth } from '../auth/server-auth.js';
import { CliError, ExitCode } from '../cli/errors.js';
import type { AuthConfig, TlsConfig } from '../config/schema.js';
import { configDir } from '../config/user-config.js';
import type { Logger } from '../log/logger.js';
import { describeCertificate, expiryWarning } from '../tls/describe.js';
import { tlsPaths } from '../tls/files.js';

export interface ServerTls {
  cert: string;
  key: string;
  clientCa?: string;
  /** The certificate file, for messages. */
  certFile: string;
  /** The CA clients should trust, when the certificate is the one of `regctl tls init`. */
  caFile?: string;
}

/** PEM contents for HTTPS, or undefined for plain HTTP; wrong or missing files stop start-up with the fix. */
export async function serverTls(tls: TlsConfig | undefined, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<ServerTls | undefined> {
  if (!tls) return undefined;
  const paths = tlsPaths(env);
  const generated = !tls.certificate;
  const fix = (flag: string) => (generated ? 'create it with regctl tls init, or pass --tls-cert and --tls-key' : `correct the path given to ${flag} (or in the config file)`);
  const certFile = tls.certificate ?? paths.serverCert;
  const keyFile = tls.key ?? paths.serverKey;
  const cert = await readPem(certFile, 'certificate', fix('--tls-cert'));
  const key = await readPem(keyFile, 'key', fix('--tls-key'));
  // Several CAs in one PEM bundle are what Node's `ca` accepts as one string.
  const clientCa = tls.clientCas?.length ? (await Promise.all(tls.clientCas.map((f) => readPem(f, 'client CA', 'correct the client CA path')))).join('\n') : undefined;
  checkPemKinds(certFile, cert, keyFile, key);
  try {
    createSecureContext({ cert, key, ca: clientCa });
  } catch (err) {
    throw new CliError(tlsProblem(certFile, keyFile, err as Error), ExitCode.usage);
  }
  const warning = expiryWarning(describeCertificate(cert), 'the server certificate');
  if (warning) logger.warn(warning);
  return { cert, key, certFile, ...(clientCa ? { clientCa } : {}), ...(generated ? { caFile: paths.caCert } : {}) };
}

/** The server's auth from its config section; a missing or broken file stops start-up with one line. */
export async function serverAuth(auth: AuthConfig, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<ServerAuth | undefined> {
  try {
    return await createServerAuth(auth, { logger, configDir: configDir(env) });
  } catch (err) {
    if (err instanceof AuthSetupError) throw new CliError(err.message, err.missing ? ExitCode.notFound : ExitCode.usage);
    throw err;
  }
}

async function readPem(path: string, what: string, fix: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`no ${what} file at ${path}: ${fix}`, ExitCode.notFound);
    if (code === 'EISDIR') throw new CliError(`${path} is a directory, not a PEM ${what} file: ${fix}`, ExitCode.usage);
    throw new CliError(`cannot read the ${what} file ${path} (${code ?? (err as Error).message})`);
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----/;
const PEM_KEY = /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/;

/** OpenSSL says "no start line" for either file; which one, and a swap, are what a person needs to know. */
function checkPemKinds(certFile: string, cert: string, keyFile: string, key: string): void {
  if (!PEM_CERTIFICATE.test(cert) && PEM_KEY.test(cert) && PEM_CERTIFICATE.test(key)) {
    throw new CliError(`${certFile} is a private key and ${keyFile} a certificate: swap --tls-cert and --tls-key`, ExitCode.usage);
  }
  if (!PEM_CERTIFICATE.test(cert)) throw new CliError(`${certFile} holds no PEM certificate ("-----BEGIN CERTIFICATE-----"): pass the certificate to --tls-cert`, ExitCode.usage);
  if (!PEM_KEY.test(key)) throw new CliError(`${keyFile} holds no PEM private key ("-----BEGIN … PRIVATE KEY-----"): pass the private key to --tls-key`, ExitCode.usage);
}

function tlsProblem(certFile: string, keyFile: string, err: Error): string {
  const reason = err.message.replace(/^error:[0-9A-F]+:/i, '');
  if (/key values mismatch/i.test(err.message)) {
    return `the key ${keyFile} does not belong to the certificate ${certFile}: pass the key the certificate was made with (${reason})`;
  }
  return `cannot serve TLS with ${certFile} and ${keyFile}: check that both are PEM and belong together (${reason})`;
}
