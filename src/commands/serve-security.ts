import { readFile, stat } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { BasicAuth } from '../auth/basic.js';
import { CliError, ExitCode, UsageError } from '../cli/errors.js';
import type { Logger } from '../log/logger.js';
import { describeCertificate, expiryWarning } from '../tls/describe.js';
import { tlsPaths } from '../tls/files.js';

/** The TLS and auth flags of `regctl serve`. */
export interface SecurityFlags {
  tls?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  htpasswd?: string;
}

/** PEM contents for HTTPS, or undefined for plain HTTP; wrong or missing files stop start-up with the fix. */
export async function serverTls(flags: SecurityFlags, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<{ cert: string; key: string; clientCa?: string } | undefined> {
  if (Boolean(flags.tlsCert) !== Boolean(flags.tlsKey)) throw new UsageError('--tls-cert and --tls-key go together');
  if (!flags.tls && !flags.tlsCert) {
    if (flags.tlsClientCa) throw new UsageError('--tls-client-ca needs --tls (or --tls-cert and --tls-key)');
    return undefined;
  }
  const paths = tlsPaths(env);
  const hint = flags.tlsCert ? '' : ': create it with regctl tls init, or pass --tls-cert and --tls-key';
  const cert = await readPem(flags.tlsCert ?? paths.serverCert, hint);
  const key = await readPem(flags.tlsKey ?? paths.serverKey, hint);
  const clientCa = flags.tlsClientCa ? await readPem(flags.tlsClientCa, '') : undefined;
  try {
    createSecureContext({ cert, key, ca: clientCa });
  } catch (err) {
    throw new CliError(`cannot serve TLS with ${flags.tlsCert ?? paths.serverCert}: ${(err as Error).message}`);
  }
  const warning = expiryWarning(describeCertificate(cert), 'the server certificate');
  if (warning) logger.warn(warning);
  return { cert, key, ...(clientCa ? { clientCa } : {}) };
}

export async function serverAuth(flags: SecurityFlags, logger: Logger): Promise<BasicAuth | undefined> {
  if (!flags.htpasswd) return undefined;
  if (!(await stat(flags.htpasswd).catch(() => undefined))) {
    throw new CliError(`no htpasswd file at ${flags.htpasswd}: add a user with regctl user add NAME --htpasswd ${flags.htpasswd}`, ExitCode.notFound);
  }
  const auth = await BasicAuth.open(flags.htpasswd, logger);
  if (auth.userCount === 0) logger.warn('the htpasswd file has no bcrypt users: nobody can log in', { file: flags.htpasswd });
  return auth;
}

async function readPem(path: string, hint: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? `no file at ${path}${hint}` : `cannot read ${path} (${code ?? (err as Error).message})`, code === 'ENOENT' ? ExitCode.notFound : ExitCode.failure);
  }
}
