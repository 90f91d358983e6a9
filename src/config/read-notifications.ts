import { ENDPOINT_DEFAULTS, PROXY_TTL_MS } from './defaults.js';
import type { Section } from './reader.js';
import type { NotificationEndpoint, NotificationsConfig, ProxyConfig, ProxyUpstream } from './schema.js';

/** `notifications.endpoints` (CNCF keys, plus regctl's `secret`) and `regctl.notifications.queuelimit`. */
export function readNotifications(notifications: Section, own: Section, defaults: NotificationsConfig): NotificationsConfig {
  const endpoints = notifications.list('endpoints').map(readEndpoint);
  const names = new Set<string>();
  for (const [i, e] of endpoints.entries()) {
    if (names.has(e.name)) throw notifications.fail('endpoints', undefined, `[${i}] repeats the name "${e.name}"; give every endpoint its own name`);
    names.add(e.name);
  }
  notifications.unsupported('events', 'is not supported by regctl (events never include references); ignored');
  notifications.finish();
  const queueLimit = own.integer('queuelimit', 1) ?? defaults.queueLimit;
  own.finish();
  return { endpoints, queueLimit };
}

function readEndpoint(e: Section): NotificationEndpoint {
  const name = e.string('name');
  if (!name) throw e.fail('name', undefined, 'is missing; name the endpoint, e.g. name: ci-hook');
  const url = httpUrl(e, 'url', 'https://hooks.example.com/registry');
  const ignore = e.section('ignore');
  const endpoint: NotificationEndpoint = {
    name,
    url,
    headers: readHeaders(e.section('headers')),
    timeoutMs: e.duration('timeout') ?? ENDPOINT_DEFAULTS.timeoutMs,
    threshold: e.integer('threshold', 1) ?? ENDPOINT_DEFAULTS.threshold,
    backoffMs: e.duration('backoff') ?? ENDPOINT_DEFAULTS.backoffMs,
    // CNCF has both the old top-level list and `ignore.mediatypes`; either one counts.
    ignoredMediaTypes: [...(e.strings('ignoredmediatypes') ?? []), ...(ignore.strings('mediatypes') ?? [])],
    ignoredActions: ignore.strings('actions') ?? [],
    disabled: e.bool('disabled') ?? false,
  };
  const secret = e.string('secret');
  if (secret) endpoint.secret = secret;
  ignore.finish();
  e.finish();
  return endpoint;
}

/** `headers: {Authorization: [Bearer x]}`: each value a list of strings, or one string. */
function readHeaders(headers: Section): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const key of headers.keys()) out[key] = headers.strings(key) ?? [];
  return out;
}

/** CNCF `proxy:` (one upstream for every name) and regctl's `regctl.proxies` (one per name prefix). */
export function readProxy(proxy: Section, proxies: Section[]): ProxyConfig {
  const upstreams: ProxyUpstream[] = [];
  if (proxy.keys().length > 0) upstreams.push(readUpstream(proxy, ''));
  for (const p of proxies) {
    const prefix = p.string('prefix');
    if (prefix === undefined) throw p.fail('prefix', undefined, 'is missing; give the names it serves, e.g. prefix: docker.io');
    const upstream = readUpstream(p, prefix.replace(/\/+$/, ''));
    if (upstreams.some((u) => u.prefix === upstream.prefix)) {
      throw p.fail('prefix', undefined, `"${upstream.prefix}" is served by an upstream already (proxy: serves the prefix ""); keep one upstream per prefix`);
    }
    upstreams.push(upstream);
  }
  return { upstreams };
}

function readUpstream(s: Section, prefix: string): ProxyUpstream {
  // `ttl` keeps the CNCF registry's meaning (how long cached content lives); how often a cached tag
  // is re-checked upstream is regctl's own `recheck`.
  const upstream: ProxyUpstream = {
    prefix,
    remoteUrl: httpUrl(s, 'remoteurl', 'https://registry-1.docker.io').replace(/\/+$/, ''),
    ttlMs: s.duration('recheck') ?? PROXY_TTL_MS,
  };
  const cacheTtlMs = s.duration('ttl');
  if (cacheTtlMs !== undefined) upstream.cacheTtlMs = cacheTtlMs;
  const username = s.string('username');
  const password = s.string('password');
  if (Boolean(username) !== Boolean(password)) throw s.fail(username ? 'password' : 'username', undefined, 'is missing; give username and password together, or neither');
  if (username && password) Object.assign(upstream, { username, password });
  s.unsupported('exec', '(a credential helper) is not supported by regctl; give username and password');
  s.finish();
  return upstream;
}

function httpUrl(s: Section, key: string, example: string): string {
  const value = s.string(key);
  if (!value) throw s.fail(key, undefined, `is missing; add it, e.g. ${key}: ${example}`);
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) throw s.fail(key, undefined, `is "${value}"; write an http(s) URL, e.g. ${example}`);
  return value;
}
