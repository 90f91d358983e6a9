import { join } from 'node:path';
import { defaultStorageRoot } from './paths.js';
import type { ServeConfig } from './schema.js';
import { configDir } from './user-config.js';

export const DEFAULT_ADDR = '127.0.0.1:5000';
const MiB = 1024 * 1024;

/** What the CNCF registry uses when `storage.s3.chunksize` is absent; S3 refuses parts below 5 MiB. */
export const S3_CHUNK_SIZE = { default: 10 * MiB, min: 5 * MiB } as const;

/** Notification endpoint settings the file leaves out. */
export const ENDPOINT_DEFAULTS = { timeoutMs: 5_000, threshold: 10, backoffMs: 10_000 } as const;

/** How long a tag pulled through a proxy is served before the upstream is asked again (`recheck`). */
export const PROXY_TTL_MS = 5 * 60_000;

/**
 * The configuration with no file, no `REGISTRY_*` variables and no flags. Upload purging follows
 * the CNCF registry's defaults (uploads older than a week, checked daily).
 */
export function defaultServeConfig(env: NodeJS.ProcessEnv): ServeConfig {
  return {
    http: { addr: DEFAULT_ADDR },
    storage: {
      driver: 'filesystem',
      rootDirectory: defaultStorageRoot(env),
      delete: true,
      readOnly: false,
      uploadPurging: { enabled: true, ageMs: 168 * 3_600_000, intervalMs: 24 * 3_600_000, dryRun: false },
    },
    auth: { rateLimit: { failures: 10, windowMs: 60_000 } },
    log: { level: 'info', format: 'text' },
    notifications: { endpoints: [], queueLimit: 1000 },
    proxy: { upstreams: [] },
    regctl: { gcIntervalMs: 0, shutdownTimeoutMs: 10_000, metrics: false },
  };
}

/** The token service's settings when `regctl.auth.token` leaves them out. */
export function defaultTokenConfig(env: NodeJS.ProcessEnv): { service: string; issuer: string; keyFile: string; expirationMs: number } {
  return { service: 'regctl', issuer: 'regctl', keyFile: join(configDir(env), 'token', 'key.pem'), expirationMs: 5 * 60_000 };
}
