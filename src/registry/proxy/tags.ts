import type { StorageDriver } from '../../storage/driver.js';
import { TagStore } from '../tags.js';
import type { ProxyContext } from './context.js';
import { isUpstreamFailure } from './upstream.js';

/** Tag lists of proxied names come from the upstream (the cache holds only what was pulled), or from the cache while it is down. */
export class ProxyTagStore extends TagStore {
  constructor(
    driver: StorageDriver,
    private readonly proxy: ProxyContext,
  ) {
    super(driver);
  }

  override async list(repo: string): Promise<string[]> {
    const route = this.proxy.router.match(repo);
    if (!route) return super.list(repo);
    try {
      return (await route.upstream.call((client) => client.tags(route.remoteRepo))).sort();
    } catch (err) {
      if (!isUpstreamFailure(err)) throw err;
      this.proxy.logger.warn('listing cached tags: the upstream could not list them', { repo, upstream: route.upstream.remoteUrl, error: err.message });
      return super.list(repo);
    }
  }
}
