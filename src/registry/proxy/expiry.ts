import { BlobUnknown, ManifestUnknown } from '../../oci/errors.js';
import { ignoreNotFound, type StorageDriver } from '../../storage/driver.js';
import * as paths from '../../storage/paths.js';
import type { BlobStore } from '../blobs.js';
import { listRepositoryDirs } from '../catalog.js';
import { mark } from '../gc/mark.js';
import { listDigestDirs } from '../links.js';
import type { ManifestStore } from '../manifests.js';
import type { TagStore } from '../tags.js';
import type { CacheMetadata } from './metadata.js';
import type { UpstreamRouter } from './router.js';
import type { Upstream } from './upstream.js';

export interface ExpiryReport {
  tags: number;
  manifests: number;
  blobs: number;
}

export interface ExpiryDeps {
  driver: StorageDriver;
  manifests: ManifestStore;
  blobs: BlobStore;
  tags: TagStore;
  metadata: CacheMetadata;
  router: UpstreamRouter<Upstream>;
  now: number;
}

/**
 * Expires what the pull-through cache fetched and nobody has needed for the upstream's `cacheTtlMs`:
 * tags not confirmed upstream within it, then fetched manifests no remaining tag reaches, then
 * fetched blobs no remaining manifest of the repository references. Only links go; the garbage
 * collection that runs next frees the bytes nothing else references. Content pushed under the name
 * before it was proxied has no `_proxy` record and is never touched.
 */
export async function expireCache(deps: ExpiryDeps): Promise<ExpiryReport> {
  const report: ExpiryReport = { tags: 0, manifests: 0, blobs: 0 };
  for (const repo of await listRepositoryDirs(deps.driver, ['_proxy'])) {
    const ttl = deps.router.match(repo)?.upstream.cacheTtlMs ?? 0;
    if (ttl > 0) await expireRepository(deps, repo, deps.now - ttl, report);
  }
  return report;
}

async function expireRepository(deps: ExpiryDeps, repo: string, cutoff: number, report: ExpiryReport): Promise<void> {
  const { driver, metadata } = deps;
  const expired = async (time: Promise<number | undefined>): Promise<boolean> => {
    const at = await time;
    return at !== undefined && at < cutoff;
  };
  for (const tag of (await driver.list(paths.proxyTagsDir(repo)).catch(ignoreNotFound)) ?? []) {
    if (!(await expired(metadata.readTagTime(repo, tag)))) continue;
    await deps.tags.remove(repo, tag).catch(ignore(ManifestUnknown));
    await metadata.forgetTag(repo, tag);
    report.tags++;
  }
  // What the remaining tags (and manifests fetched within the TTL) still reach stays.
  const marks = await mark(driver, [repo], { deleteUntagged: true, youngSince: new Date(cutoff) });
  const keptManifests = marks.repositories[0]?.manifests ?? new Map();
  for (const digest of await listDigestDirs(driver, paths.proxyRevisionsDir(repo))) {
    if (keptManifests.has(digest) || !(await expired(metadata.readManifestTime(repo, digest)))) continue;
    await deps.manifests.delete(repo, digest).catch(ignore(ManifestUnknown));
    await metadata.forgetManifest(repo, digest);
    report.manifests++;
  }
  for (const digest of await listDigestDirs(driver, paths.proxyLayersDir(repo))) {
    if (marks.blobs.has(digest) || !(await expired(metadata.readBlobTime(repo, digest)))) continue;
    await deps.blobs.unlink(repo, digest).catch(ignore(BlobUnknown));
    await metadata.forgetBlob(repo, digest);
    report.blobs++;
  }
}

function ignore(kind: abstract new (...args: never[]) => Error): (err: unknown) => undefined {
  return (err) => {
    if (err instanceof kind) return undefined;
    throw err;
  };
}
