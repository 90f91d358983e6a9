import { UsageError } from '../cli/errors.js';
import type { LogFormat, LogLevel } from '../log/logger.js';
import { defaultTokenConfig } from './defaults.js';
import type { ServeConfig } from './schema.js';

/** The flags of `regctl serve` that are settings; only those given on the command line are set. */
export interface ServeFlags {
  addr?: string;
  root?: string;
  readOnly?: boolean;
  /** false = --no-delete. */
  delete?: boolean;
  logLevel?: LogLevel;
  logFormat?: LogFormat;
  shutdownTimeout?: number;
  gcInterval?: number;
  tls?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  htpasswd?: string;
  accessRules?: string;
  tokenAuth?: boolean;
}

/** Flags win over the file and the environment: each given flag replaces its one setting. */
export function applyServeFlags(config: ServeConfig, flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): ServeConfig {
  if (Boolean(flags.tlsCert) !== Boolean(flags.tlsKey)) throw new UsageError('--tls-cert and --tls-key go together');
  const { delete: del, readOnly, uploadPurging } = config.storage;
  const storage: ServeConfig['storage'] = {
    ...(flags.root !== undefined ? { driver: 'filesystem' as const, rootDirectory: flags.root } : config.storage),
    delete: flags.delete ?? del,
    readOnly: flags.readOnly ?? readOnly,
    uploadPurging,
  };
  let tls = config.http.tls;
  if (flags.tlsCert) tls = { certificate: flags.tlsCert, key: flags.tlsKey!, ...(tls?.clientCas ? { clientCas: tls.clientCas } : {}) };
  else if (flags.tls) tls = { useGenerated: true, ...(tls?.clientCas ? { clientCas: tls.clientCas } : {}) };
  if (flags.tlsClientCa) {
    if (!tls) throw new UsageError('--tls-client-ca needs --tls (or --tls-cert and --tls-key, or http.tls in the config file)');
    tls = { ...tls, clientCas: [flags.tlsClientCa] };
  }
  return {
    ...config,
    http: { ...config.http, addr: flags.addr ?? config.http.addr, ...(tls ? { tls } : {}) },
    storage,
    auth: {
      ...config.auth,
      ...(flags.htpasswd ? { htpasswd: { path: flags.htpasswd } } : {}),
      ...(flags.accessRules ? { accessRulesFile: flags.accessRules } : {}),
      // A token section in the file already turns the service on, with its own settings.
      ...(flags.tokenAuth && !config.auth.token ? { token: defaultTokenConfig(env) } : {}),
    },
    log: { level: flags.logLevel ?? config.log.level, format: flags.logFormat ?? config.log.format },
    regctl: {
      ...config.regctl,
      shutdownTimeoutMs: flags.shutdownTimeout ?? config.regctl.shutdownTimeoutMs,
      gcIntervalMs: flags.gcInterval ?? config.regctl.gcIntervalMs,
    },
  };
}
