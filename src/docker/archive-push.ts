import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { RegistryClient } from '../client/client.js';
import { MediaTypes } from '../oci/manifest.js';
import { mapLimit } from '../util/concurrency.js';
import { layerBlob, type ArchiveImage } from './archive.js';
import type { LayerCounts } from './progress.js';

export const DOCKER_CONFIG_TYPE = 'application/vnd.docker.container.image.v1+json';
export const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const DOCKER_LAYER_TAR = 'application/vnd.docker.image.rootfs.diff.tar';

// Like the engine's own push: a few layers at a time fill the link without a flood of uploads.
export const UPLOAD_CONCURRENCY = 3;

/** What moved between an archive and the registry. */
export interface ArchiveTransfer {
  digest: string;
  /** The engine's image ID: the config's digest. */
  id: string;
  layers: LayerCounts;
}

/**
 * Pushes one verified archive image with regctl's client: blobs the registry has are skipped, and
 * the manifest (the tag) goes last, so a failure part way leaves no tag pointing at missing blobs.
 */
export async function pushArchiveImage(client: RegistryClient, image: ArchiveImage, repository: string, tag: string, compress: boolean): Promise<ArchiveTransfer> {
  const blobs = await mapLimit(image.layers, UPLOAD_CONCURRENCY, (layer) => layerBlob(layer, compress));
  const uploaded = await mapLimit(blobs, UPLOAD_CONCURRENCY, (blob) =>
    ensureBlob(client, repository, blob.digest, blob.size, () => createReadStream(blob.path)),
  );
  const config = { size: image.config.data.length, digest: image.config.digest };
  await ensureBlob(client, repository, config.digest, config.size, () => Readable.from([image.config.data]));
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.dockerManifest,
    config: { mediaType: DOCKER_CONFIG_TYPE, size: config.size, digest: config.digest },
    layers: blobs.map((b) => ({ mediaType: compress ? DOCKER_LAYER_GZIP : DOCKER_LAYER_TAR, size: b.size, digest: b.digest })),
  };
  const digest = await client.putManifest(repository, tag, Buffer.from(JSON.stringify(manifest)), MediaTypes.dockerManifest);
  const transferred = uploaded.filter(Boolean).length;
  return { digest, id: image.config.digest, layers: { transferred, existing: blobs.length - transferred } };
}

/** True when the blob was uploaded, false when the registry already had it. */
export async function ensureBlob(client: RegistryClient, repository: string, digest: string, size: number, open: () => Readable): Promise<boolean> {
  if ((await client.headBlob(repository, digest)) !== undefined) return false;
  await client.pushBlob(repository, digest, size, open);
  return true;
}
