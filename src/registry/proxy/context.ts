import type { Logger } from '../../log/logger.js';
import type { CacheMetadata } from './metadata.js';
import type { UpstreamRouter } from './router.js';
import type { Upstream } from './upstream.js';

/**
 * How one request for proxied content was answered: `hit` from the cache alone; `revalidated` from the
 * cache once a HEAD upstream confirmed it; `miss` with the upstream asked for it; `stale` from the
 * cache because the upstream could not confirm it (down, rate-limiting).
 */
export type ProxyOutcome = 'hit' | 'revalidated' | 'miss' | 'stale';

/** Told of every request for proxied content (the metrics count them). */
export interface ProxyStats {
  served(kind: 'manifest' | 'blob', outcome: ProxyOutcome): void;
}

/** What the proxying stores share: where names go, what the cache remembers, where warnings and counts go. */
export interface ProxyContext {
  router: UpstreamRouter<Upstream>;
  metadata: CacheMetadata;
  logger: Logger;
  stats?: ProxyStats;
}

/** The refusal of a write to a proxied name, naming the upstream so the pusher knows where to go. */
export function pushRefusal(repo: string, upstream: Upstream): string {
  const elsewhere = upstream.prefix ? `, or to a name outside ${upstream.prefix}/` : '';
  return `${repo} is a pull-through cache of ${upstream.remoteUrl}: push to that registry${elsewhere}`;
}
