import type { StorageDriver } from '../../storage/driver.js';
import * as paths from '../../storage/paths.js';
import { listRepositoryDirs } from '../catalog.js';
import { listDigestDirs } from '../links.js';
import { listBlobs } from './inventory.js';

export interface RepositoryUsage {
  name: string;
  /** Blobs (layers, configs, manifests) only this repository holds. */
  uniqueBytes: number;
  /** Blobs this repository holds that others hold too. */
  sharedBytes: number;
  blobs: number;
}

export interface UsageReport {
  repositories: RepositoryUsage[];
  /** Every blob in the store once, whoever holds it (or nobody: garbage). */
  storeBytes: number;
  blobs: number;
}

/** Storage per repository, from its `_layers` and revision links and the blobs' sizes. */
export async function diskUsage(driver: StorageDriver, only?: string): Promise<UsageReport> {
  const repositories = await listRepositoryDirs(driver, ['_manifests', '_layers']);
  const holdings = new Map<string, Set<string>>();
  const holders = new Map<string, number>();
  for (const repo of repositories) {
    const digests = new Set([...(await listDigestDirs(driver, paths.layersDir(repo))), ...(await listDigestDirs(driver, paths.revisionsDir(repo)))]);
    holdings.set(repo, digests);
    for (const d of digests) holders.set(d, (holders.get(d) ?? 0) + 1);
  }
  const all = await listBlobs(driver);
  const sizes = new Map(all.map((b) => [b.digest, b.size]));
  const result: RepositoryUsage[] = [];
  for (const [name, digests] of holdings) {
    if (only !== undefined && name !== only) continue;
    const usage: RepositoryUsage = { name, uniqueBytes: 0, sharedBytes: 0, blobs: 0 };
    for (const d of digests) {
      const size = sizes.get(d);
      if (size === undefined) continue; // a link to a blob that is gone holds nothing
      usage.blobs++;
      if (holders.get(d) === 1) usage.uniqueBytes += size;
      else usage.sharedBytes += size;
    }
    // A repository emptied by gc leaves directories behind; listing it would only be noise.
    if (usage.blobs > 0 || only !== undefined) result.push(usage);
  }
  return { repositories: result, storeBytes: all.reduce((n, b) => n + b.size, 0), blobs: all.length };
}
