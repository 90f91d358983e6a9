import { isDigest } from '../oci/digest.js';
import { ignoreNotFound, type StorageDriver } from '../storage/driver.js';

/** `<dir>/<alg>/<hex>` directories as digests: the shape of `_layers`, `revisions` and `_referrers`. */
export async function listDigestDirs(driver: StorageDriver, dir: string): Promise<string[]> {
  const digests: string[] = [];
  for (const algorithm of (await driver.list(dir).catch(ignoreNotFound)) ?? []) {
    for (const hex of (await driver.list(`${dir}/${algorithm}`).catch(ignoreNotFound)) ?? []) {
      const digest = `${algorithm}:${hex}`;
      if (isDigest(digest)) digests.push(digest);
    }
  }
  return digests;
}
