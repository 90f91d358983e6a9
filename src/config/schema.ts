import type { LogFormat, LogLevel } from '../log/logger.js';

/**
 * The effective settings of `regctl serve`: what the CNCF registry's config.yml (version 0.1), the
 * `REGISTRY_*` environment, regctl's own `regctl:` section and the command-line flags resolve to.
 * Flags win over the environment, which wins over the file. Every feature takes its own section, so
 * the loader is the only code that knows about files and precedence.
 */
export interface ServeConfig {
  http: HttpConfig;
  storage: StorageConfig;
  auth: AuthConfig;
  log: { level: LogLevel; format: LogFormat };
  notifications: NotificationsConfig;
  proxy: ProxyConfig;
  /** regctl's own settings (the `regctl:` key of the file). */
  regctl: RegctlSettings;
}

export interface HttpConfig {
  /** `host:port`, `:port` or `[v6]:port`. */
  addr: string;
  tls?: TlsConfig;
  /** CNCF `http.debug.addr`: a second listener for operators (`/metrics`); absent = none. */
  debugAddr?: string;
}

export interface TlsConfig {
  /** PEM files. Absent certificate and key with `useGenerated` = the files of `regctl tls init`. */
  certificate?: string;
  key?: string;
  clientCas?: string[];
  /** `serve --tls`: serve with the certificate of `regctl tls init`. */
  useGenerated?: boolean;
}

export type StorageConfig = {
  delete: boolean;
  readOnly: boolean;
  /** Stale uploads are removed this long after they started (uploadpurging.age); 0 = never. */
  uploadPurging: { enabled: boolean; ageMs: number; intervalMs: number; dryRun: boolean };
} & (
  | { driver: 'filesystem'; rootDirectory: string }
  | { driver: 'inmemory' }
  | { driver: 's3'; s3: S3Config }
);

/** The CNCF registry's `storage.s3` keys that regctl reads. */
export interface S3Config {
  bucket: string;
  region: string;
  regionEndpoint?: string;
  forcePathStyle: boolean;
  /** Both absent = the AWS SDK's default credential chain. */
  accessKey?: string;
  secretKey?: string;
  /** Prefix of every object: the same tree as the filesystem layout lives under it. */
  rootDirectory: string;
  /** Multipart part size in bytes (CNCF `chunksize`, default 10 MiB, at least 5 MiB). */
  chunkSize: number;
  /** GET of a blob answers 307 to a presigned URL instead of streaming it through regctl. */
  redirect: boolean;
}

export interface AuthConfig {
  htpasswd?: { path: string };
  /** Built-in Docker token service at `/token` (JWT signed with a key regctl generates and keeps). */
  token?: TokenConfig;
  /** Access rules file (YAML); absent = every authenticated user may do everything. */
  accessRulesFile?: string;
  /** Failed logins allowed per client address within `windowMs` before TOOMANYREQUESTS. */
  rateLimit: { failures: number; windowMs: number };
}

export interface TokenConfig {
  /** `realm` advertised in the Bearer challenge; default `<server url>/token`. */
  realm?: string;
  service: string;
  issuer: string;
  /**
   * PEM private key (ECDSA P-256) that signs tokens; generated (mode 0600) on first use when missing.
   * Absent = `<config dir>/token/key.pem`.
   */
  keyFile?: string;
  expirationMs: number;
}

export interface NotificationEndpoint {
  name: string;
  url: string;
  headers: Record<string, string[]>;
  timeoutMs: number;
  /** Failures in a row before the endpoint is backed off. */
  threshold: number;
  backoffMs: number;
  ignoredMediaTypes: string[];
  ignoredActions: string[];
  /** HMAC-SHA256 secret; given = every delivery carries a signature header. */
  secret?: string;
  disabled: boolean;
}

export interface NotificationsConfig {
  endpoints: NotificationEndpoint[];
  /** Events kept per endpoint while its receiver is down; older ones are dropped (logged, counted). */
  queueLimit: number;
}

export interface ProxyUpstream {
  /** Repository-name prefix routed to this upstream, e.g. `docker.io` or `ghcr.io` ('' = every name). */
  prefix: string;
  /** Base URL of the upstream registry, e.g. https://registry-1.docker.io */
  remoteUrl: string;
  username?: string;
  password?: string;
  /** How long a cached tag is trusted before it is re-checked with HEAD. */
  ttlMs: number;
  /**
   * Cached content the upstream has not been asked about for this long expires at the next garbage
   * collection (tags, then manifests and blobs no remaining cached manifest references); default
   * 7 days (the CNCF registry's `proxy.ttl`), 0 = never.
   */
  cacheTtlMs?: number;
}

export interface ProxyConfig {
  upstreams: ProxyUpstream[];
}

export interface RegctlSettings {
  /** Garbage collection while serving, safe during pushes; 0 = never. */
  gcIntervalMs: number;
  /** How long in-flight requests may finish after SIGINT/SIGTERM. */
  shutdownTimeoutMs: number;
  /** Serve `/metrics` (Prometheus). */
  metrics: boolean;
}
