import { ManifestUnknown, Unsupported } from '../../oci/errors.js';
import { parseReference } from '../../oci/reference.js';
import type { StorageDriver } from '../../storage/driver.js';
import type { BlobStore } from '../blobs.js';
import type { ContentCache } from '../cache.js';
import type { GcCoordinator } from '../gc/coordinator.js';
import { ManifestStore, unknownManifest, type PutManifestResult, type StoredManifest } from '../manifests.js';
import type { ReferrerStore } from '../referrers.js';
import type { TagStore } from '../tags.js';
import { pushRefusal, type ProxyContext, type ProxyOutcome } from './context.js';
import type { ProxyRoute } from './router.js';
import { SingleFlight } from './single-flight.js';
import { isUpstreamFailure, type Upstream } from './upstream.js';

/**
 * Manifests of proxied names. By digest: cached forever (content cannot change), fetched once on a
 * miss. By tag: served from the cache while younger than the upstream's TTL; then a HEAD upstream
 * (which Docker Hub does not count as a pull) either confirms the digest or leads to a fetch; when the
 * upstream is down or rate-limiting, the cached copy is served and a warning logged.
 */
export class ProxyManifestStore extends ManifestStore {
  private readonly flights = new SingleFlight<Served>();

  constructor(
    driver: StorageDriver,
    blobs: BlobStore,
    tags: TagStore,
    referrers: ReferrerStore,
    cache: ContentCache,
    gc: GcCoordinator,
    private readonly proxy: ProxyContext,
  ) {
    super(driver, blobs, tags, referrers, cache, gc);
  }

  override async get(repo: string, reference: string): Promise<StoredManifest> {
    const route = this.proxy.router.match(repo);
    if (!route) return super.get(repo, reference);
    const { manifest, outcome } = await this.serve(route, repo, reference);
    this.proxy.stats?.served('manifest', outcome);
    return manifest;
  }

  override async put(
    repo: string,
    reference: string,
    body: Buffer,
    contentType: string | undefined,
    options?: { checkReferences?: boolean },
  ): Promise<PutManifestResult> {
    const route = this.proxy.router.match(repo);
    if (route) throw new Unsupported(pushRefusal(repo, route.upstream));
    return super.put(repo, reference, body, contentType, options);
  }

  /** Clients sharing a flight were all answered the same way, so each is counted with its outcome. */
  private async serve(route: ProxyRoute<Upstream>, repo: string, reference: string): Promise<Served> {
    const ref = parseReference(reference);
    const cached = await super.get(repo, reference).catch((err: unknown) => {
      if (err instanceof ManifestUnknown) return undefined;
      throw err;
    });
    if (ref.kind === 'digest') return cached ? { manifest: cached, outcome: 'hit' } : this.flights.run(`${repo}@${ref.digest}`, () => this.fetch(route, repo, ref.digest));
    if (cached) {
      const age = await this.proxy.metadata.tagAge(repo, ref.tag);
      if (age !== undefined && age < route.upstream.ttlMs) return { manifest: cached, outcome: 'hit' };
    }
    return this.flights.run(`${repo}:${ref.tag}`, () =>
      cached ? this.revalidate(route, repo, ref.tag, cached) : this.fetch(route, repo, ref.tag, ref.tag),
    );
  }

  /** A stale tag: HEAD upstream; the same digest renews the tag, another one is fetched. */
  private async revalidate(route: ProxyRoute<Upstream>, repo: string, tag: string, cached: StoredManifest): Promise<Served> {
    let head;
    try {
      head = await route.upstream.call((client) => client.headManifest(route.remoteRepo, tag));
    } catch (err) {
      if (!isUpstreamFailure(err)) throw err;
      this.proxy.logger.warn('serving a cached manifest: the upstream could not confirm it', {
        repo,
        tag,
        digest: cached.digest,
        upstream: route.upstream.remoteUrl,
        error: err.message,
      });
      return { manifest: cached, outcome: 'stale' };
    }
    if (!head) throw unknownManifest(repo, tag);
    if (head.digest === cached.digest) {
      await this.proxy.metadata.tagChecked(repo, tag);
      return { manifest: cached, outcome: 'revalidated' };
    }
    return this.fetch(route, repo, head.digest, tag);
  }

  /** GET upstream (the client verifies a digest reference), then store as if pushed, references unchecked. */
  private async fetch(route: ProxyRoute<Upstream>, repo: string, remoteReference: string, tag?: string): Promise<Served> {
    const fetched = await route.upstream.call((client) => client.getManifest(route.remoteRepo, remoteReference));
    await super.put(repo, tag ?? fetched.digest, fetched.body, fetched.mediaType, { checkReferences: false });
    await this.proxy.metadata.manifestFetched(repo, fetched.digest);
    if (tag) await this.proxy.metadata.tagChecked(repo, tag);
    return { manifest: await this.load(fetched.digest, repo, remoteReference), outcome: 'miss' };
  }
}

interface Served {
  manifest: StoredManifest;
  outcome: ProxyOutcome;
}
