import { isDigest } from '../oci/digest.js';
import { ManifestUnknown, NameUnknown } from '../oci/errors.js';
import { ignoreNotFound, PathNotFoundError, type StorageDriver } from '../storage/driver.js';
import * as paths from '../storage/paths.js';
import { exists } from './blobs.js';

/** Tags are `_manifests/tags/<tag>/current/link`, plus an index of every digest the tag has held. */
export class TagStore {
  constructor(private readonly driver: StorageDriver) {}

  async resolve(repo: string, tag: string): Promise<string> {
    try {
      const digest = (await this.driver.getContent(paths.tagCurrentLink(repo, tag), 1024)).toString('utf8').trim();
      if (isDigest(digest)) return digest;
    } catch (err) {
      if (!(err instanceof PathNotFoundError)) throw err;
    }
    throw new ManifestUnknown(`tag ${tag} is not in repository ${repo}`, { detail: { tag } });
  }

  async set(repo: string, tag: string, digest: string): Promise<void> {
    // Index first: a reader that sees the new current link can always find it in the index too.
    await this.driver.putContent(paths.tagIndexLink(repo, tag, digest), digest);
    await this.driver.putContent(paths.tagCurrentLink(repo, tag), digest);
  }

  async remove(repo: string, tag: string): Promise<void> {
    try {
      await this.driver.delete(paths.tagDir(repo, tag));
    } catch (err) {
      if (err instanceof PathNotFoundError) throw new ManifestUnknown(`tag ${tag} is not in repository ${repo}`, { detail: { tag } });
      throw err;
    }
  }

  /** All tags, sorted; NAME_UNKNOWN when the repository does not exist. */
  async list(repo: string): Promise<string[]> {
    try {
      return await this.driver.list(paths.tagsDir(repo));
    } catch (err) {
      if (!(err instanceof PathNotFoundError)) throw err;
    }
    if (await exists(this.driver, paths.manifestsDir(repo))) return [];
    throw new NameUnknown(`repository ${repo} is not known to this registry`, { detail: { name: repo } });
  }

  async removeAllPointingAt(repo: string, digest: string): Promise<string[]> {
    const removed: string[] = [];
    for (const tag of await this.list(repo).catch(() => [] as string[])) {
      const current = await this.resolve(repo, tag).catch(() => undefined);
      if (current !== digest) continue;
      await this.driver.delete(paths.tagDir(repo, tag)).catch(ignoreNotFound);
      removed.push(tag);
    }
    return removed;
  }
}
