import type { Node } from 'yaml';
import { LOG_LEVELS, type LogFormat, type LogLevel } from '../log/logger.js';
import { defaultServeConfig, defaultTokenConfig } from './defaults.js';
import type { FileSources } from './check-files.js';
import { ConfigError, type ConfigWarning } from './errors.js';
import { parseListenAddress } from './paths.js';
import { readNotifications, readProxy } from './read-notifications.js';
import { readStorage } from './read-storage.js';
import { Section } from './reader.js';
import type { AuthConfig, HttpConfig, RegctlSettings, ServeConfig, TlsConfig } from './schema.js';
import type { ConfigTree } from './source.js';

/** CNCF top-level sections regctl has no counterpart for. */
const UNSUPPORTED_TOP = ['middleware', 'reporting', 'redis', 'health', 'validation', 'compatibility', 'catalog', 'policy'];

export interface ReadResult {
  config: ServeConfig;
  warnings: ConfigWarning[];
  /** Where each setting naming a file was written, for checkFiles. */
  sources: FileSources;
}

/** The tree (file + environment) as ServeConfig over the defaults; `fromFile` = read CNCF defaults. */
export function readServeConfig(tree: ConfigTree, env: NodeJS.ProcessEnv, fromFile: boolean): ReadResult {
  const warnings: ConfigWarning[] = [];
  const root = new Section(tree, warnings, '', tree.root);
  const defaults = defaultServeConfig(env);
  checkVersion(root, tree, fromFile);
  const own = root.section('regctl');
  const httpSection = root.section('http');
  const { http, drainMs, prometheus } = readHttp(httpSection, defaults.http);
  const config: ServeConfig = {
    http,
    storage: readStorage(root.section('storage', { named: true }), defaults.storage, fromFile),
    auth: readAuth(root.section('auth', { named: true }), own.section('auth'), defaults.auth, env),
    log: readLog(root, defaults.log),
    notifications: readNotifications(root.section('notifications'), own.section('notifications'), defaults.notifications),
    proxy: readProxy(root.section('proxy'), own.list('proxies')),
    regctl: readRegctl(own, { ...defaults.regctl, ...(drainMs !== undefined ? { shutdownTimeoutMs: drainMs } : {}), ...(prometheus !== undefined ? { metrics: prometheus } : {}) }),
  };
  for (const key of UNSUPPORTED_TOP) root.unsupported(key);
  root.finish();
  return { config, warnings: warnings.sort((a, b) => lineOf(a.where) - lineOf(b.where)), sources: fileSources(root, own) };
}

function fileSources(root: Section, own: Section): FileSources {
  const tls = root.section('http').section('tls');
  const auth = own.section('auth');
  return {
    'http.tls.certificate': tls.whereOf('certificate'),
    'http.tls.key': tls.whereOf('key'),
    'http.tls.clientcas': tls.whereOf('clientcas'),
    'auth.htpasswd.path': root.section('auth', { named: true }).section('htpasswd').whereOf('path'),
    'regctl.auth.accessrules': auth.whereOf('accessrules'),
    'regctl.auth.token.key': auth.section('token').whereOf('key'),
    'storage.filesystem.rootdirectory': root.section('storage', { named: true }).section('filesystem').whereOf('rootdirectory'),
  };
}

/** Warnings in file order; those from the environment after them. */
function lineOf(where: string): number {
  const m = /:(\d+)$/.exec(where);
  return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
}

function checkVersion(root: Section, tree: ConfigTree, fromFile: boolean): void {
  const value = root.string('version');
  if (value === '0.1' || (value === undefined && !fromFile)) return;
  const where = tree.where(tree.root.get('version', true) as Node | undefined);
  throw new ConfigError(where, value === undefined ? 'version is missing; add "version: 0.1" as the first line' : `version ${value} is not supported; write "version: 0.1"`);
}

function readHttp(http: Section, defaults: HttpConfig): { http: HttpConfig; drainMs?: number; prometheus?: boolean } {
  const addr = http.string('addr') ?? defaults.addr;
  checkAddress(http, 'addr', addr);
  const net = http.string('net');
  if (net !== undefined && net !== 'tcp') throw http.fail('net', undefined, `${net} is not supported; regctl listens on TCP (remove http.net)`);
  const result: HttpConfig = { addr };
  const tls = readTls(http.section('tls'));
  if (tls) result.tls = tls;
  const debug = http.section('debug');
  const debugAddr = debug.string('addr');
  if (debugAddr) result.debugAddr = checkAddress(debug, 'addr', debugAddr);
  const prom = debug.section('prometheus');
  const prometheus = prom.bool('enabled');
  const path = prom.string('path');
  if (path !== undefined && path !== '/metrics') prom.warn('path', 'is always /metrics in regctl; ignored');
  prom.finish();
  debug.finish();
  const drainMs = http.duration('draintimeout');
  for (const key of ['prefix', 'host', 'secret', 'relativeurls', 'headers', 'http2', 'h2c']) http.unsupported(key);
  http.finish();
  return { http: result, ...(drainMs !== undefined ? { drainMs } : {}), ...(prometheus !== undefined ? { prometheus } : {}) };
}

function checkAddress(section: Section, key: string, addr: string): string {
  try {
    parseListenAddress(addr);
    return addr;
  } catch (err) {
    throw section.fail(key, undefined, `"${addr}" is not an address; ${(err as Error).message.replace(/^invalid address "[^"]*"; /, '')}`);
  }
}

function readTls(tls: Section): TlsConfig | undefined {
  if (tls.keys().length === 0) return undefined;
  const certificate = tls.string('certificate');
  const key = tls.string('key');
  const clientCas = tls.strings('clientcas');
  for (const k of ['letsencrypt', 'minimumtls', 'ciphersuites', 'clientauth']) tls.unsupported(k);
  tls.finish();
  if (!certificate || !key) {
    throw tls.fail(certificate ? 'key' : 'certificate', undefined, 'is missing; give certificate and key together (PEM files; regctl tls init makes a pair)');
  }
  return { certificate, key, ...(clientCas?.length ? { clientCas } : {}) };
}

function readAuth(auth: Section, own: Section, defaults: AuthConfig, env: NodeJS.ProcessEnv): AuthConfig {
  const result: AuthConfig = { rateLimit: { ...defaults.rateLimit } };
  const htpasswd = auth.section('htpasswd');
  if (htpasswd.keys().length > 0) {
    const path = htpasswd.string('path');
    if (!path) throw htpasswd.fail('path', undefined, 'is missing; add the htpasswd file, e.g. path: /etc/registry/htpasswd (regctl user add makes one)');
    // The CNCF registry requires a realm; regctl's is always "regctl", so only another one is news.
    const realm = htpasswd.string('realm');
    if (realm !== undefined && realm !== 'regctl') htpasswd.warn('realm', `"${realm}" is not supported (regctl's realm is "regctl"); ignored`);
    htpasswd.finish();
    result.htpasswd = { path };
  }
  auth.unsupported('token', '(an external token server) is not supported; regctl has its own: regctl.auth.token');
  auth.unsupported('silly');
  auth.finish();

  // `token:` alone turns the service on with its defaults.
  const wanted = own.keys().includes('token');
  const token = own.section('token');
  if (wanted) {
    const d = defaultTokenConfig(env);
    const realm = token.string('realm');
    result.token = {
      ...(realm ? { realm } : {}),
      service: token.string('service') ?? d.service,
      issuer: token.string('issuer') ?? d.issuer,
      keyFile: token.string('key') ?? d.keyFile,
      expirationMs: token.duration('expiration') ?? d.expirationMs,
    };
  }
  token.finish();
  const rules = own.string('accessrules');
  if (rules) result.accessRulesFile = rules;
  const limit = own.section('ratelimit', { example: 'failures: 10 and window: 1m' });
  result.rateLimit = { failures: limit.integer('failures', 1) ?? defaults.rateLimit.failures, windowMs: limit.duration('window') ?? defaults.rateLimit.windowMs };
  limit.finish();
  own.finish();
  return result;
}

function readLog(root: Section, defaults: ServeConfig['log']): ServeConfig['log'] {
  const log = root.section('log');
  // `loglevel` is the CNCF registry's old spelling of log.level.
  const levelKey = log.has('level') || !root.has('loglevel') ? 'level' : undefined;
  const level = levelKey ? log.string('level') : root.string('loglevel');
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
    throw (levelKey ? log : root).fail(levelKey ?? 'loglevel', undefined, `"${level}" is not a level; write one of ${LOG_LEVELS.join(', ')}`);
  }
  let format: LogFormat = defaults.format;
  const formatter = log.string('formatter');
  if (formatter === 'json' || formatter === 'text') format = formatter;
  else if (formatter === 'logstash') {
    log.warn('formatter', 'logstash is not supported; writing json');
    format = 'json';
  } else if (formatter !== undefined) throw log.fail('formatter', undefined, `"${formatter}" is not a formatter; write text or json`);
  for (const key of ['fields', 'hooks', 'reportcaller']) log.unsupported(key);
  const accesslog = log.section('accesslog');
  if (accesslog.bool('disabled')) accesslog.warn('disabled', 'is not supported (regctl logs requests at info; use log.level: warn to drop them); ignored');
  accesslog.finish();
  log.finish();
  return { level: (level as LogLevel | undefined) ?? defaults.level, format };
}

function readRegctl(own: Section, defaults: RegctlSettings): RegctlSettings {
  const settings: RegctlSettings = {
    gcIntervalMs: own.duration('gcinterval') ?? defaults.gcIntervalMs,
    shutdownTimeoutMs: own.duration('shutdowntimeout') ?? defaults.shutdownTimeoutMs,
    metrics: own.bool('metrics') ?? defaults.metrics,
  };
  own.finish();
  return settings;
}
