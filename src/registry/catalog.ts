import { PathNotFoundError, type StorageDriver } from '../storage/driver.js';
import { REPOSITORIES_ROOT } from '../storage/paths.js';

/**
 * Every repository name in the store, sorted. A repository is a directory holding `_manifests`, as
 * the CNCF registry decides; directories starting with "_" are its internals and are not descended.
 */
export async function listRepositories(driver: StorageDriver): Promise<string[]> {
  const names: string[] = [];
  try {
    await driver.walk(REPOSITORIES_ROOT, (entry) => {
      if (!entry.isDir) return 'skip';
      const base = entry.path.slice(entry.path.lastIndexOf('/') + 1);
      if (base === '_manifests') names.push(entry.path.slice(REPOSITORIES_ROOT.length + 1, -'/_manifests'.length));
      return base.startsWith('_') ? 'skip' : undefined;
    });
  } catch (err) {
    if (!(err instanceof PathNotFoundError)) throw err;
  }
  return names.sort();
}

/** The page after `last` (exclusive) of at most `n` items from a sorted list, and whether more remain. */
export function paginate(items: string[], n: number | undefined, last: string | undefined): { page: string[]; more: boolean } {
  const from = last === undefined ? items : items.filter((item) => item > last);
  if (n === undefined) return { page: from, more: false };
  return { page: from.slice(0, n), more: from.length > n };
}
