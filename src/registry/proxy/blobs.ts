import type { Readable } from 'node:stream';
import { parseDigest } from '../../oci/digest.js';
import { BlobUnknown, Unsupported } from '../../oci/errors.js';
import type { StorageDriver } from '../../storage/driver.js';
import { BlobStore, type BlobInfo, type ByteRange } from '../blobs.js';
import type { GcCoordinator } from '../gc/coordinator.js';
import { BlobFill } from './blob-fill.js';
import { pushRefusal, type ProxyContext } from './context.js';
import type { ProxyRoute } from './router.js';
import { SingleFlight } from './single-flight.js';
import type { Upstream } from './upstream.js';

/**
 * Blobs of proxied names: what is cached is served as any blob; a miss is asked of the upstream (HEAD
 * for the size, then one streamed GET shared by everyone asking at once and stored as it passes).
 * Pushes and mounts into proxied names are refused; other names are untouched.
 */
export class ProxyBlobStore extends BlobStore {
  private readonly fills = new Map<string, BlobFill>();
  private readonly heads = new SingleFlight<BlobInfo>();

  constructor(
    private readonly storage: StorageDriver,
    gc: GcCoordinator,
    private readonly proxy: ProxyContext,
  ) {
    super(storage, gc);
  }

  /** Every GET and HEAD of a blob asks here once, so this is where each is counted. */
  override async stat(repo: string, digest: string): Promise<BlobInfo> {
    const route = this.proxy.router.match(repo);
    if (!route) return super.stat(repo, digest);
    try {
      const info = await super.stat(repo, digest);
      this.proxy.stats?.served('blob', 'hit');
      return info;
    } catch (err) {
      if (!(err instanceof BlobUnknown)) throw err;
    }
    const info = await this.statMissing(route, repo, digest);
    this.proxy.stats?.served('blob', 'miss');
    return info;
  }

  override async open(repo: string, digest: string, range?: ByteRange): Promise<Readable> {
    const route = this.proxy.router.match(repo);
    if (!route || (await this.isLinked(repo, digest))) return super.open(repo, digest, range);
    const fill = this.fillFor(route, repo, digest);
    // The upstream's refusal (gone, 429, down) surfaces here, before any reply is sent.
    await fill.size;
    const live = range ? undefined : fill.attach();
    if (live) return live;
    await fill.done;
    return super.open(repo, digest, range);
  }

  override async ingest(repo: string, body: Readable, digest: string, expectedSize?: number): Promise<BlobInfo> {
    this.refuseProxied(repo);
    return super.ingest(repo, body, digest, expectedSize);
  }

  override async mount(repo: string, digest: string, from: string | undefined): Promise<boolean> {
    this.refuseProxied(repo);
    return super.mount(repo, digest, from);
  }

  /** Waits for the fetches in flight to be stored (or fail): for shutdown. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.fills.values()].map((fill) => fill.done));
  }

  private async statMissing(route: ProxyRoute<Upstream>, repo: string, digest: string): Promise<BlobInfo> {
    const fill = this.fills.get(key(repo, digest));
    // A fetch in flight knows the size, unless the upstream streams it without a length.
    const size = fill ? await fill.size : -1;
    if (size >= 0) return { digest, size };
    const info = await this.heads.run(key(repo, digest), () => this.statUpstream(route, repo, digest));
    // Storage that hands clients a URL of its own (S3 redirect) serves the blob without us: store it first.
    if (this.storage.urlFor && !(await this.isLinked(repo, digest))) return this.fillFor(route, repo, digest).done;
    return info;
  }

  /** The upstream's word on the blob; a copy already stored for another name is linked, not fetched again. */
  private async statUpstream(route: ProxyRoute<Upstream>, repo: string, digest: string): Promise<BlobInfo> {
    parseDigest(digest);
    const size = await route.upstream.call((client) => client.headBlob(route.remoteRepo, digest));
    if (size === undefined) {
      throw new BlobUnknown(`blob ${digest} is not in ${route.upstream.remoteUrl}/${route.remoteRepo}`, { detail: { digest } });
    }
    if (await super.mount(repo, digest, undefined)) await this.proxy.metadata.blobFetched(repo, digest);
    return { digest, size };
  }

  private fillFor(route: ProxyRoute<Upstream>, repo: string, digest: string): BlobFill {
    const k = key(repo, digest);
    let fill = this.fills.get(k);
    if (fill) return fill;
    fill = new BlobFill(
      () => route.upstream.call((client) => client.getBlob(route.remoteRepo, digest)),
      async (body, size) => {
        const info = await super.ingest(repo, body, digest, size);
        await this.proxy.metadata.blobFetched(repo, digest);
        return info;
      },
    );
    this.fills.set(k, fill);
    fill.done.then(
      () => this.fills.delete(k),
      (err: unknown) => {
        this.fills.delete(k);
        this.proxy.logger.warn('pull-through blob fetch failed', { repo, digest, upstream: route.upstream.remoteUrl, error: (err as Error).message });
      },
    );
    return fill;
  }

  private refuseProxied(repo: string): void {
    const route = this.proxy.router.match(repo);
    if (route) throw new Unsupported(pushRefusal(repo, route.upstream));
  }
}

function key(repo: string, digest: string): string {
  return `${repo}@${digest}`;
}
