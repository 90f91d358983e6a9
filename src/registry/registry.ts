import type { StorageDriver } from '../storage/driver.js';
import { BlobStore } from './blobs.js';
import { ContentCache } from './cache.js';
import { listRepositories } from './catalog.js';
import { ManifestStore } from './manifests.js';
import { ReferrerStore } from './referrers.js';
import { TagStore } from './tags.js';
import { UploadStore } from './uploads.js';

export interface RegistryDeps {
  driver: StorageDriver;
  clock?: () => Date;
  /** Bytes of manifests kept in memory (default 32 MiB). */
  manifestCacheBytes?: number;
}

/** The domain stores over one storage driver, wired together. */
export class Registry {
  readonly driver: StorageDriver;
  readonly blobs: BlobStore;
  readonly uploads: UploadStore;
  readonly tags: TagStore;
  readonly referrers: ReferrerStore;
  readonly manifests: ManifestStore;

  constructor(deps: RegistryDeps) {
    this.driver = deps.driver;
    this.blobs = new BlobStore(deps.driver);
    this.uploads = new UploadStore(deps.driver, this.blobs, deps.clock);
    this.tags = new TagStore(deps.driver);
    this.referrers = new ReferrerStore(deps.driver, (digest) => this.manifests.load(digest));
    this.manifests = new ManifestStore(deps.driver, this.blobs, this.tags, this.referrers, new ContentCache(deps.manifestCacheBytes));
  }

  repositories(): Promise<string[]> {
    return listRepositories(this.driver);
  }
}
