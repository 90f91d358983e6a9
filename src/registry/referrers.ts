import { MediaTypes, type Descriptor } from '../oci/manifest.js';
import { ignoreNotFound, type StorageDriver } from '../storage/driver.js';
import * as paths from '../storage/paths.js';
import { listDigestDirs } from './links.js';
import type { StoredManifest } from './manifests.js';

export interface ReferrersIndex {
  schemaVersion: 2;
  mediaType: typeof MediaTypes.ociIndex;
  manifests: Descriptor[];
}

/** regctl's referrers index: one link per (subject, referrer) under `_referrers`, set on manifest PUT. */
export class ReferrerStore {
  constructor(
    private readonly driver: StorageDriver,
    private readonly load: (digest: string) => Promise<StoredManifest>,
  ) {}

  async add(repo: string, subject: string, referrer: string): Promise<void> {
    await this.driver.putContent(paths.referrerLink(repo, subject, referrer), referrer);
  }

  async remove(repo: string, subject: string, referrer: string): Promise<void> {
    await this.driver.delete(paths.referrerDir(repo, subject, referrer)).catch(ignoreNotFound);
  }

  /** The referrers of `subject` in `repo` as an image index, optionally only those of one artifactType. */
  async list(repo: string, subject: string, artifactType?: string): Promise<ReferrersIndex> {
    const manifests: Descriptor[] = [];
    for (const digest of await listDigestDirs(this.driver, paths.referrersDir(repo, subject))) {
      let stored: StoredManifest;
      try {
        stored = await this.load(digest);
      } catch {
        continue; // deleted underneath us, or collected: no longer a referrer
      }
      const descriptor = describe(stored);
      if (artifactType === undefined || descriptor.artifactType === artifactType) manifests.push(descriptor);
    }
    return { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests };
  }

}

function describe(stored: StoredManifest): Descriptor {
  const json = JSON.parse(stored.body.toString('utf8')) as {
    artifactType?: string;
    config?: { mediaType?: string };
    annotations?: Record<string, string>;
  };
  const descriptor: Descriptor = { mediaType: stored.mediaType, digest: stored.digest, size: stored.body.length };
  const artifactType = json.artifactType ?? json.config?.mediaType;
  if (artifactType) descriptor.artifactType = artifactType;
  if (json.annotations) descriptor.annotations = json.annotations;
  return descriptor;
}
