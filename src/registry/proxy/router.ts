import type { ProxyUpstream } from '../../config/schema.js';
import { NAME_PATTERN } from '../../oci/reference.js';

/** A bad `proxy` section: one line saying which upstream and what is wrong. */
export class ProxyConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProxyConfigError';
  }
}

export interface ProxyRoute<U> {
  upstream: U;
  /** The name the upstream knows the repository by. */
  remoteRepo: string;
}

/**
 * Routes repository names to upstreams by prefix, longest first, on whole path components:
 * `docker.io/library/alpine` goes to the `docker.io` upstream as `library/alpine`, and the empty
 * prefix takes every name (the CNCF registry's single `proxy.remoteurl`).
 */
export class UpstreamRouter<U> {
  private readonly entries: { prefix: string; upstream: U }[];

  constructor(entries: { prefix: string; upstream: U }[]) {
    this.entries = [...entries].sort((a, b) => b.prefix.length - a.prefix.length);
  }

  match(repo: string): ProxyRoute<U> | undefined {
    for (const { prefix, upstream } of this.entries) {
      if (prefix === '') return { upstream, remoteRepo: repo };
      if (repo.startsWith(`${prefix}/`)) return { upstream, remoteRepo: remoteName(prefix, repo.slice(prefix.length + 1)) };
    }
    return undefined;
  }
}

/** Docker Hub's official images live under `library/`, which Docker clients leave out of the name. */
function remoteName(prefix: string, rest: string): string {
  return prefix === 'docker.io' && !rest.includes('/') ? `library/${rest}` : rest;
}

/** The upstream's `host[:port]` and scheme; anything but a bare http(s) origin is refused. */
export function parseRemoteUrl(upstream: Pick<ProxyUpstream, 'prefix' | 'remoteUrl'>): { registry: string; scheme: 'http' | 'https' } {
  let url: URL;
  try {
    url = new URL(upstream.remoteUrl);
  } catch {
    throw new ProxyConfigError(`proxy upstream "${upstream.prefix}": remoteUrl "${upstream.remoteUrl}" is not a URL`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || (url.pathname !== '/' && url.pathname !== '') || url.search) {
    throw new ProxyConfigError(`proxy upstream "${upstream.prefix}": remoteUrl must be http(s)://host[:port], not "${upstream.remoteUrl}"`);
  }
  return { registry: url.host, scheme: url.protocol === 'http:' ? 'http' : 'https' };
}

/** Prefixes must be names (or empty) and distinct, or routing would be ambiguous. */
export function checkPrefixes(upstreams: readonly Pick<ProxyUpstream, 'prefix'>[]): void {
  const seen = new Set<string>();
  for (const { prefix } of upstreams) {
    if (prefix !== '' && !NAME_PATTERN.test(prefix)) throw new ProxyConfigError(`proxy prefix "${prefix}" is not a repository name prefix`);
    if (seen.has(prefix)) throw new ProxyConfigError(`proxy prefix "${prefix}" is configured twice`);
    seen.add(prefix);
  }
}
