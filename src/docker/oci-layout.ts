import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from '../cli/errors.js';
import type { RegistryClient } from '../client/client.js';
import { isIndexMediaType, type Descriptor, type ImageIndex, type ImageManifest } from '../oci/manifest.js';
import { mapLimit } from '../util/concurrency.js';
import { readArchiveJson, readRange, type ArchiveFile } from './archive.js';
import { ensureBlob, UPLOAD_CONCURRENCY, type ArchiveTransfer } from './archive-push.js';

const REF_NAME = 'org.opencontainers.image.ref.name';

/** One image of an OCI image layout: its manifest descriptor and the ref name it is listed under. */
export interface LayoutImage {
  names: string[];
  descriptor: Descriptor;
}

/** The images index.json lists; an index inside the layout (multi-platform) is refused, not half pushed. */
export async function layoutImages(files: Map<string, ArchiveFile>, source: string): Promise<LayoutImage[]> {
  const { json: index } = await readArchiveJson<ImageIndex>(files, 'index.json', source);
  return (index.manifests ?? []).map((descriptor) => {
    if (isIndexMediaType(descriptor.mediaType)) throw new CliError(`${source} holds a multi-platform index (${descriptor.digest}), which push --archive cannot push yet`);
    const name = descriptor.annotations?.[REF_NAME];
    return { names: name ? [name] : [], descriptor };
  });
}

/**
 * Pushes an image of the layout byte for byte (the manifest keeps its digest). Every blob is checked
 * against its descriptor before the first upload; the manifest goes last.
 */
export async function pushLayoutImage(client: RegistryClient, files: Map<string, ArchiveFile>, image: LayoutImage, repository: string, tag: string, source: string): Promise<ArchiveTransfer> {
  const { body, json: manifest } = await readArchiveJson<ImageManifest>(files, blobPath(image.descriptor), source);
  const blobs = [...manifest.layers, manifest.config].map((d) => checkedBlob(files, d, source));
  const uploaded = await mapLimit(blobs, UPLOAD_CONCURRENCY, (blob) => ensureBlob(client, repository, blob.digest, blob.size, blob.open));
  const digest = await client.putManifest(repository, tag, body, image.descriptor.mediaType);
  const layers = uploaded.slice(0, manifest.layers.length);
  const transferred = layers.filter(Boolean).length;
  return { digest, id: manifest.config.digest, layers: { transferred, existing: layers.length - transferred } };
}

function blobPath(descriptor: Descriptor): string {
  return `blobs/${descriptor.digest.replace(':', '/')}`;
}

/** The size is checked here; the digest, which the blob's name carries, by the registry as it arrives. */
function checkedBlob(files: Map<string, ArchiveFile>, descriptor: Descriptor, source: string): ArchiveFile & { digest: string } {
  const file = files.get(blobPath(descriptor));
  if (!file) throw new CliError(`${source} is incomplete: it lacks the blob ${descriptor.digest}`);
  if (file.size !== descriptor.size) throw new CliError(`${source} is corrupt: blob ${descriptor.digest} has ${file.size} bytes, its descriptor says ${descriptor.size}`);
  return { ...file, digest: descriptor.digest };
}

/**
 * The files of a layout directory, named as in a tarball. A blob's digest is its file name: the
 * registry checks it on upload, and hashing every layer first would read the whole image twice.
 */
export async function layoutDirectory(dir: string): Promise<Map<string, ArchiveFile>> {
  const files = new Map<string, ArchiveFile>();
  for (const name of ['index.json', 'oci-layout']) {
    const size = await stat(join(dir, name)).then((s) => s.size, () => undefined);
    if (size !== undefined) files.set(name, { size, open: (range) => readRange(join(dir, name), 0, size, range) });
  }
  const algorithms = await readdir(join(dir, 'blobs')).catch(() => [] as string[]);
  for (const algorithm of algorithms) {
    for (const hex of await readdir(join(dir, 'blobs', algorithm))) {
      const path = join(dir, 'blobs', algorithm, hex);
      const { size } = await stat(path);
      files.set(`blobs/${algorithm}/${hex}`, { size, digest: `${algorithm}:${hex}`, open: (range) => readRange(path, 0, size, range) });
    }
  }
  return files;
}
