import { ignoreNotFound, type StorageDriver } from '../../storage/driver.js';
import * as paths from '../../storage/paths.js';

/** Remembered tag check times; beyond this the oldest are forgotten and read again from storage. */
const MAX_REMEMBERED = 50_000;

/**
 * What the pull-through cache knows beyond the CNCF layout: when the upstream last confirmed a tag,
 * and which manifests and blobs it fetched (and when), so expiry never touches content pushed here
 * before the name was proxied. Each is one small file under `_proxy/` holding an RFC 3339 time,
 * written atomically by the driver.
 */
export class CacheMetadata {
  private readonly checked = new Map<string, number>();

  constructor(
    private readonly driver: StorageDriver,
    private readonly now: () => number,
  ) {}

  /** Milliseconds since the upstream last confirmed `tag`, or undefined when never. */
  async tagAge(repo: string, tag: string): Promise<number | undefined> {
    const key = `${repo}:${tag}`;
    let at = this.checked.get(key);
    if (at === undefined) {
      at = await this.readTime(paths.proxyTagCheckedAt(repo, tag));
      if (at === undefined) return undefined;
      this.remember(key, at);
    }
    return this.now() - at;
  }

  async tagChecked(repo: string, tag: string): Promise<void> {
    const at = this.now();
    await this.driver.putContent(paths.proxyTagCheckedAt(repo, tag), new Date(at).toISOString());
    this.remember(`${repo}:${tag}`, at);
  }

  manifestFetched(repo: string, digest: string): Promise<void> {
    return this.driver.putContent(paths.proxyRevisionFetchedAt(repo, digest), new Date(this.now()).toISOString());
  }

  blobFetched(repo: string, digest: string): Promise<void> {
    return this.driver.putContent(paths.proxyLayerFetchedAt(repo, digest), new Date(this.now()).toISOString());
  }

  readTagTime(repo: string, tag: string): Promise<number | undefined> {
    return this.readTime(paths.proxyTagCheckedAt(repo, tag));
  }

  readManifestTime(repo: string, digest: string): Promise<number | undefined> {
    return this.readTime(paths.proxyRevisionFetchedAt(repo, digest));
  }

  readBlobTime(repo: string, digest: string): Promise<number | undefined> {
    return this.readTime(paths.proxyLayerFetchedAt(repo, digest));
  }

  async forgetTag(repo: string, tag: string): Promise<void> {
    this.checked.delete(`${repo}:${tag}`);
    await this.driver.delete(paths.proxyTagDir(repo, tag)).catch(ignoreNotFound);
  }

  async forgetManifest(repo: string, digest: string): Promise<void> {
    await this.driver.delete(paths.proxyRevisionDir(repo, digest)).catch(ignoreNotFound);
  }

  async forgetBlob(repo: string, digest: string): Promise<void> {
    await this.driver.delete(paths.proxyLayerDir(repo, digest)).catch(ignoreNotFound);
  }

  private async readTime(path: string): Promise<number | undefined> {
    const text = (await this.driver.getContent(path, 1024).catch(ignoreNotFound))?.toString('utf8').trim();
    const at = text ? Date.parse(text) : NaN;
    return Number.isNaN(at) ? undefined : at;
  }

  private remember(key: string, at: number): void {
    this.checked.delete(key);
    this.checked.set(key, at);
    if (this.checked.size > MAX_REMEMBERED) this.checked.delete(this.checked.keys().next().value!);
  }
}
