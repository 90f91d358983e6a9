import type { ProxyConfig } from '../../config/schema.js';
import type { Logger } from '../../log/logger.js';
import type { RequestScope } from '../../server/request-scope.js';
import { ContentCache } from '../cache.js';
import type { GcOptions } from '../gc/collect.js';
import type { GcReport } from '../gc/report.js';
import { Registry, type RegistryDeps } from '../registry.js';
import { ProxyBlobStore } from './blobs.js';
import type { ProxyContext, ProxyStats } from './context.js';
import { expireCache, type ExpiryReport } from './expiry.js';
import { ProxyManifestStore } from './manifests.js';
import { CacheMetadata } from './metadata.js';
import { checkPrefixes, UpstreamRouter } from './router.js';
import { ProxyTagStore } from './tags.js';
import { Upstream } from './upstream.js';
import { ProxyUploadStore } from './uploads.js';

export interface ProxyDeps {
  logger: Logger;
  /** The server's scope, so upstream requests carry the client's X-Request-Id. */
  scope: RequestScope;
  clock?: () => Date;
  /** Per upstream request: time to response headers, and between body chunks (default 30 s). */
  upstreamTimeoutMs?: number;
  /** Told how each request for proxied content was served. */
  stats?: ProxyStats;
}

/**
 * A Registry whose proxied names are a pull-through cache of their upstreams: the stores the server
 * uses are replaced, before anything is served, by ones that fall back to the upstream on a miss and
 * refuse pushes; names no upstream claims behave exactly as in a plain Registry.
 */
export class ProxyRegistry extends Registry {
  declare readonly blobs: ProxyBlobStore;
  declare readonly uploads: ProxyUploadStore;
  declare readonly tags: ProxyTagStore;
  declare readonly manifests: ProxyManifestStore;
  private readonly upstreams: Upstream[];
  private readonly context: ProxyContext;
  private readonly now: () => Date;

  constructor(deps: RegistryDeps, config: ProxyConfig, proxy: ProxyDeps) {
    super(deps);
    checkPrefixes(config.upstreams);
    this.now = proxy.clock ?? deps.clock ?? (() => new Date());
    const nowMs = (): number => this.now().getTime();
    this.upstreams = config.upstreams.map((u) => new Upstream(u, { scope: proxy.scope, now: nowMs, timeoutMs: proxy.upstreamTimeoutMs }));
    this.context = {
      router: new UpstreamRouter(this.upstreams.map((upstream) => ({ prefix: upstream.prefix, upstream }))),
      metadata: new CacheMetadata(this.driver, nowMs),
      logger: proxy.logger,
      stats: proxy.stats,
    };
    // super() made plain stores; these replace them before anything is served. The referrer store
    // reads `this.manifests` when it needs it, so it sees the replacement. The manifest store keeps
    // the plain tag store: manifest operations resolve and clean up the tags held here, never the
    // upstream's list.
    const localTags = this.tags;
    this.blobs = new ProxyBlobStore(this.driver, this.gc, this.context);
    this.uploads = new ProxyUploadStore(this.driver, this.blobs, this.gc, deps.clock, this.context);
    this.tags = new ProxyTagStore(this.driver, this.context);
    this.manifests = new ProxyManifestStore(
      this.driver,
      this.blobs,
      localTags,
      this.referrers,
      new ContentCache(deps.manifestCacheBytes, deps.cacheStats),
      this.gc,
      this.context,
    );
  }

  /** Cached content past its upstream's `cacheTtlMs` loses its links first, so the collection frees its bytes. */
  override async collectGarbage(options: GcOptions): Promise<GcReport> {
    if (!options.dryRun) {
      const expired = await this.expireCache();
      if (expired.tags + expired.manifests + expired.blobs > 0) this.context.logger.info('pull-through cache expiry', { ...expired });
    }
    return super.collectGarbage(options);
  }

  expireCache(): Promise<ExpiryReport> {
    return expireCache({
      driver: this.driver,
      manifests: this.manifests,
      blobs: this.blobs,
      tags: this.tags,
      metadata: this.context.metadata,
      router: this.context.router,
      now: this.now().getTime(),
    });
  }

  /** Lets the blob fetches in flight finish storing, then closes the upstream connections. */
  override async close(): Promise<void> {
    await this.blobs.settle();
    await Promise.all(this.upstreams.map((u) => u.close()));
  }
}
