import type { StorageDriver } from '../storage/driver.js';
import { LinkCachingDriver } from '../storage/link-cache.js';
import { BlobStore } from './blobs.js';
import { ContentCache, type CacheStats } from './cache.js';
import { listRepositories } from './catalog.js';
import { collectGarbage, type GcOptions } from './gc/collect.js';
import { GcCoordinator, type GcRunListener } from './gc/coordinator.js';
import type { GcReport } from './gc/report.js';
import { ManifestStore } from './manifests.js';
import { ReferrerStore } from './referrers.js';
import { TagStore } from './tags.js';
import { UploadStore } from './uploads.js';

export interface RegistryDeps {
  driver: StorageDriver;
  clock?: () => Date;
  /** Bytes of manifests kept in memory (default 32 MiB). */
  manifestCacheBytes?: number;
  /**
   * How long a link (tag, revision, layer) read from storage is trusted before it is read again
   * (default 1000 ms). Changes made through this registry are seen at once; this bounds how late a
   * change made by another process on the same storage is seen. 0 turns the cache off.
   */
  linkCacheTtlMs?: number;
  /** Told of manifest cache hits and misses (metrics). */
  cacheStats?: CacheStats;
  /** Told when a garbage collection inside this registry ends (metrics). */
  onGcRun?: GcRunListener;
}

/** The domain stores over one storage driver, wired together. */
export class Registry {
  readonly driver: StorageDriver;
  readonly blobs: BlobStore;
  readonly uploads: UploadStore;
  readonly tags: TagStore;
  readonly referrers: ReferrerStore;
  readonly manifests: ManifestStore;
  /** Coordinates garbage collection with the pushes this registry takes. */
  readonly gc: GcCoordinator;

  constructor(deps: RegistryDeps) {
    this.gc = new GcCoordinator(deps.onGcRun);
    const ttl = deps.linkCacheTtlMs ?? 1000;
    this.driver = ttl > 0 ? new LinkCachingDriver(deps.driver, ttl) : deps.driver;
    this.blobs = new BlobStore(this.driver, this.gc);
    this.uploads = new UploadStore(this.driver, this.blobs, this.gc, deps.clock);
    this.tags = new TagStore(this.driver);
    this.referrers = new ReferrerStore(this.driver, (digest) => this.manifests.load(digest));
    this.manifests = new ManifestStore(
      this.driver,
      this.blobs,
      this.tags,
      this.referrers,
      new ContentCache(deps.manifestCacheBytes, deps.cacheStats),
      this.gc,
    );
  }

  repositories(): Promise<string[]> {
    return listRepositories(this.driver);
  }

  /** A collection that is safe while this registry serves (see GcCoordinator). */
  collectGarbage(options: GcOptions): Promise<GcReport> {
    return collectGarbage(this.driver, options, this.gc);
  }

  /** Releases what a registry holds beyond its storage (a pull-through cache's upstream connections). */
  async close(): Promise<void> {}
}
