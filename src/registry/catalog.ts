import { ignoreNotFound, PathNotFoundError, type StorageDriver } from '../storage/driver.js';
import { REPOSITORIES_ROOT } from '../storage/paths.js';

/**
 * Every repository name in the store, sorted. A repository is a directory holding `_manifests`, as
 * the CNCF registry decides; directories starting with "_" are its internals and are not descended.
 */
export function listRepositories(driver: StorageDriver): Promise<string[]> {
  return listRepositoryDirs(driver, ['_manifests']);
}

/**
 * Repository directories holding any of `markers` (e.g. `_layers` and `_uploads` too, for garbage
 * collection, which must see repositories that have blobs or uploads but no manifest yet).
 */
export async function listRepositoryDirs(driver: StorageDriver, markers: readonly string[]): Promise<string[]> {
  if (driver.findDirsWith) return (await driver.findDirsWith(REPOSITORIES_ROOT, markers).catch(ignoreNotFound)) ?? [];
  const names = new Set<string>();
  try {
    await driver.walk(REPOSITORIES_ROOT, (entry) => {
      if (!entry.isDir) return 'skip';
      const slash = entry.path.lastIndexOf('/');
      const base = entry.path.slice(slash + 1);
      if (markers.includes(base)) names.add(entry.path.slice(REPOSITORIES_ROOT.length + 1, slash));
      return base.startsWith('_') ? 'skip' : undefined;
    });
  } catch (err) {
    if (!(err instanceof PathNotFoundError)) throw err;
  }
  return [...names].sort();
}

/** The page after `last` (exclusive) of at most `n` items from a sorted list, and whether more remain. */
export function paginate(items: string[], n: number | undefined, last: string | undefined): { page: string[]; more: boolean } {
  const from = last === undefined ? items : items.filter((item) => item > last);
  if (n === undefined) return { page: from, more: false };
  return { page: from.slice(0, n), more: from.length > n };
}
