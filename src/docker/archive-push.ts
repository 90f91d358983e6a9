import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { RegistryClient } from '../client/client.js';
import { MediaTypes } from '../oci/manifest.js';
import { mapLimit } from '../util/concurrency.js';
import { prepareLayer, type ArchiveImage } from './archive.js';
import type { LayerCounts } from './progress.js';

export const DOCKER_CONFIG_TYPE = 'application/vnd.docker.container.image.v1+json';
export const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const DOCKER_LAYER_TAR = 'application/vnd.docker.image.rootfs.diff.tar';

// Like the engine's own push: a few layers at a time fill the link without a flood of uploads. It
// also bounds the temporary space of a gzipped push: this many compressed layers at most.
export const UPLOAD_CONCURRENCY = 3;

/** What moved between an archive and the registry. */
export interface ArchiveTransfer {
  digest: string;
  /** The engine's image ID: the config's digest. */
  id: string;
  layers: LayerCounts;
}

/**
 * Pushes one archive image with regctl's client, each layer read once from the archive: gzipped
 * into `workDir` (and removed once uploaded) or sent as it is. Blobs the registry has are skipped,
 * and the manifest (the tag) goes last, after every layer has been checked against its config, so a
 * corrupt or failed push leaves no tag pointing at missing or wrong blobs.
 */
export async function pushArchiveImage(client: RegistryClient, image: ArchiveImage, repository: string, tag: string, compress: boolean, workDir: string, archive: string): Promise<ArchiveTransfer> {
  const pushed = await mapLimit(image.layers, UPLOAD_CONCURRENCY, async (layer, i) => {
    const blob = await prepareLayer(layer, compress, join(workDir, `${image.config.digest.slice(7, 19)}-${i}.gz`), archive);
    try {
      const uploaded = await ensureBlob(client, repository, blob.digest, blob.size, blob.open);
      return { digest: blob.digest, size: blob.size, uploaded };
    } finally {
      await blob.release();
    }
  });
  const config = { size: image.config.data.length, digest: image.config.digest };
  await ensureBlob(client, repository, config.digest, config.size, () => Readable.from([image.config.data]));
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.dockerManifest,
    config: { mediaType: DOCKER_CONFIG_TYPE, size: config.size, digest: config.digest },
    layers: pushed.map((b) => ({ mediaType: compress ? DOCKER_LAYER_GZIP : DOCKER_LAYER_TAR, size: b.size, digest: b.digest })),
  };
  const digest = await client.putManifest(repository, tag, Buffer.from(JSON.stringify(manifest)), MediaTypes.dockerManifest);
  const transferred = pushed.filter((b) => b.uploaded).length;
  return { digest, id: image.config.digest, layers: { transferred, existing: pushed.length - transferred } };
}

/** True when the blob was uploaded, false when the registry already had it. */
export async function ensureBlob(client: RegistryClient, repository: string, digest: string, size: number, open: () => Readable): Promise<boolean> {
  if ((await client.headBlob(repository, digest)) !== undefined) return false;
  await client.pushBlob(repository, digest, size, open);
  return true;
}
