import { Unsupported } from '../../oci/errors.js';
import type { StorageDriver } from '../../storage/driver.js';
import type { BlobStore } from '../blobs.js';
import type { GcCoordinator } from '../gc/coordinator.js';
import { UploadStore, type UploadStatus } from '../uploads.js';
import { pushRefusal, type ProxyContext } from './context.js';

/** No upload starts in a proxied name (so none can finish there); other names upload as usual. */
export class ProxyUploadStore extends UploadStore {
  constructor(
    driver: StorageDriver,
    blobs: BlobStore,
    gc: GcCoordinator,
    clock: (() => Date) | undefined,
    private readonly proxy: ProxyContext,
  ) {
    super(driver, blobs, gc, clock);
  }

  override async start(repo: string): Promise<UploadStatus> {
    const route = this.proxy.router.match(repo);
    if (route) throw new Unsupported(pushRefusal(repo, route.upstream));
    return super.start(repo);
  }
}
