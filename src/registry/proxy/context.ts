import type { Logger } from '../../log/logger.js';
import type { CacheMetadata } from './metadata.js';
import type { UpstreamRouter } from './router.js';
import type { Upstream } from './upstream.js';

/** What the proxying stores share: where names go, what the cache remembers, where warnings go. */
export interface ProxyContext {
  router: UpstreamRouter<Upstream>;
  metadata: CacheMetadata;
  logger: Logger;
}

/** The refusal of a write to a proxied name, naming the upstream so the pusher knows where to go. */
export function pushRefusal(repo: string, upstream: Upstream): string {
  const elsewhere = upstream.prefix ? `, or to a name outside ${upstream.prefix}/` : '';
  return `${repo} is a pull-through cache of ${upstream.remoteUrl}: push to that registry${elsewhere}`;
}
