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
  const hint = generated ? ': create it with regctl tls init, or pass --tls-cert and --tls-key' : '';
  const certFile = tls.certificate ?? paths.serverCert;
  const keyFile = tls.key ?? paths.serverKey;
  const cert = await readPem(certFile, hint);
  const key = await readPem(keyFile, hint);
  // Several CAs in one PEM bundle are what Node's `ca` accepts as one string.
  const clientCa = tls.clientCas?.length ? (await Promise.all(tls.clientCas.map((f) => readPem(f, '')))).join('\n') : undefined;
  try {
    createSecureContext({ cert, key, ca: clientCa });
  } catch (err) {
    throw new CliError(`cannot serve TLS with ${certFile}: ${(err as Error).message}`);
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

async function readPem(path: string, hint: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? `no file at ${path}${hint}` : `cannot read ${path} (${code ?? (err as Error).message})`, code === 'ENOENT' ? ExitCode.notFound : ExitCode.failure);
  }
}
