import { ignoreNotFound, type StorageDriver } from '../../storage/driver.js';
import * as paths from '../../storage/paths.js';
import { mapLimit } from '../../util/concurrency.js';

export interface BlobEntry {
  digest: string;
  size: number;
  modTime: Date;
}

/** Every blob in the store with its size and time; directories without data hold nothing. */
export async function listBlobs(driver: StorageDriver): Promise<BlobEntry[]> {
  return statBlobs(driver, await listBlobDigests(driver));
}

/** The digests of the blob directories in the store, without touching their data. */
export async function listBlobDigests(driver: StorageDriver): Promise<string[]> {
  const digests: string[] = [];
  for (const algorithm of (await driver.list(paths.BLOBS_ROOT).catch(ignoreNotFound)) ?? []) {
    for (const prefix of (await driver.list(`${paths.BLOBS_ROOT}/${algorithm}`).catch(ignoreNotFound)) ?? []) {
      for (const hex of (await driver.list(`${paths.BLOBS_ROOT}/${algorithm}/${prefix}`).catch(ignoreNotFound)) ?? []) {
        digests.push(`${algorithm}:${hex}`);
      }
    }
  }
  return digests;
}

export async function statBlobs(driver: StorageDriver, digests: string[]): Promise<BlobEntry[]> {
  const entries = await mapLimit(digests, 32, async (digest) => {
    try {
      const info = await driver.stat(paths.blobData(digest));
      return { digest, size: info.size, modTime: info.modTime };
    } catch {
      return undefined;
    }
  });
  return entries.filter((e): e is BlobEntry => e !== undefined);
}
