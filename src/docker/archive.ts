import { createReadStream, createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { CliError, ExitCode } from '../cli/errors.js';
import { DigestingStream } from '../oci/digest.js';
import { MAX_MANIFEST_BYTES } from '../oci/manifest.js';
import { gzipFor } from './layer-gzip.js';
import { indexTar, TarFormatError } from './tar-index.js';

/** Layers move in pieces this big: with the 64 KiB default, per-chunk overhead costs more than gzip itself. */
export const LAYER_CHUNK = 1024 * 1024;

/** A file of the archive: read where it lies, in the tarball or the layout directory, when needed. */
export interface ArchiveFile {
  size: number;
  /** Known without reading only for an OCI layout's blobs, whose names are their digests. */
  digest?: string;
  /** All of it, or the bytes `start` to `end` (inclusive). */
  open(range?: { start: number; end: number }): Readable;
}

/** One image of a `docker save` tarball. */
export interface ArchiveImage {
  repoTags: string[];
  config: { data: Buffer; digest: string };
  /** Uncompressed layer tars, in order, with the digests the config gives them (checked as each is read). */
  layers: ArchiveLayer[];
}

export interface ArchiveLayer {
  /** Its path in the archive, for messages. */
  name: string;
  file: ArchiveFile;
  diffId: string;
}

interface SaveManifestEntry {
  Config?: string;
  RepoTags?: string[] | null;
  Layers?: string[];
}

/**
 * The images of a `docker save` tarball (the legacy layout, or the OCI layout Docker 25+ writes,
 * whose manifest.json names blobs/ paths). The manifest and configs are checked here; layers, whose
 * digests only reading them can tell, are checked as they are pushed, before their manifest is.
 */
export async function readDockerSave(files: Map<string, ArchiveFile>, file: string): Promise<ArchiveImage[]> {
  const { json: entries } = await readArchiveJson<SaveManifestEntry[]>(files, 'manifest.json', file);
  if (!Array.isArray(entries) || entries.length === 0) throw new CliError(`${file}: manifest.json lists no image`);
  return Promise.all(entries.map((entry) => imageOf(entry, files, file)));
}

async function imageOf(entry: SaveManifestEntry, files: Map<string, ArchiveFile>, archive: string): Promise<ArchiveImage> {
  const find = (name: string | undefined): ArchiveFile => {
    const found = name === undefined ? undefined : files.get(posix.normalize(name));
    if (!found) throw new CliError(`${archive} is incomplete: manifest.json names "${name}", which the archive does not hold`);
    return found;
  };
  find(entry.Config);
  const { body: data, json: config } = await readArchiveJson<{ rootfs?: { diff_ids?: string[] } }>(files, posix.normalize(entry.Config!), archive);
  const diffIds = config.rootfs?.diff_ids ?? [];
  const layers = (entry.Layers ?? []).map(find);
  if (layers.length !== diffIds.length) {
    throw new CliError(`${archive} is inconsistent: ${entry.Config} names ${diffIds.length} layers, manifest.json ${layers.length}`);
  }
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  return { repoTags: entry.RepoTags ?? [], config: { data, digest }, layers: layers.map((file, i) => ({ name: entry.Layers![i]!, file, diffId: diffIds[i]! })) };
}

/** A JSON document of the archive (manifest, config, index), its bytes kept for pushing as they are. */
export async function readArchiveJson<T>(files: Map<string, ArchiveFile>, name: string, source: string): Promise<{ body: Buffer; json: T }> {
  const file = files.get(name);
  if (!file) throw new CliError(`${source} is incomplete: it has no ${name}`);
  if (file.size > MAX_MANIFEST_BYTES) throw new CliError(`${source}: ${name} is ${file.size} bytes, more than a JSON document of an image may be`);
  const body = await buffer(file.open());
  try {
    return { body, json: JSON.parse(body.toString('utf8')) as T };
  } catch (err) {
    throw new CliError(`${source} is corrupt: ${name} is not JSON (${(err as Error).message})`, ExitCode.failure, { cause: err });
  }
}

/**
 * The regular files of a tarball by name, each read from its place in the tarball when opened: no
 * copy is made. Symlinks and hard links (Docker 25+ links its legacy paths to blobs/) resolve to the
 * file they name.
 */
export async function indexArchive(file: string): Promise<Map<string, ArchiveFile>> {
  const entries = await indexTar(file).catch((err: unknown) => {
    if (err instanceof TarFormatError) throw new CliError(`${file} is not a complete tar archive: ${err.message}`, ExitCode.failure, { cause: err });
    throw err;
  });
  const files = new Map<string, ArchiveFile>();
  const links: Array<[string, string]> = [];
  for (const entry of entries) {
    const name = posix.normalize(entry.name).replace(/\/$/, '');
    if (entry.type === 'file') {
      const { offset, size } = entry;
      files.set(name, { size, digest: blobDigest(name), open: (range) => readRange(file, offset, size, range) });
    } else if (entry.linkname && entry.type === 'symlink') {
      links.push([name, posix.join(posix.dirname(name), entry.linkname)]);
    } else if (entry.linkname && entry.type === 'hardlink') {
      links.push([name, posix.normalize(entry.linkname)]);
    }
  }
  for (const [name, target] of links) {
    const found = files.get(target);
    if (found) files.set(name, found);
  }
  return files;
}

/**
 * The bytes of a file at `offset` in `path` (all `size` of them, or `range` within them). `end` is
 * inclusive, so an empty file cannot be expressed as a range.
 */
export function readRange(path: string, offset: number, size: number, range = { start: 0, end: size - 1 }): Readable {
  if (size === 0) return Readable.from([]);
  return createReadStream(path, { start: offset + range.start, end: offset + Math.min(range.end, size - 1), highWaterMark: LAYER_CHUNK });
}

/** `blobs/<algorithm>/<hex>` of an OCI layout is named by its digest. */
export function blobDigest(name: string): string | undefined {
  const m = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/.exec(name);
  return m ? `${m[1]}:${m[2]}` : undefined;
}

/** A layer ready to upload: where its bytes are, and what they hash to. */
export interface LayerBlob {
  digest: string;
  size: number;
  open(): Readable;
  /** Removes what preparing it wrote. */
  release(): Promise<void>;
}

/**
 * A docker save layer as it goes to the registry. Gzipped (see gzipFor), it is compressed into `path` (the
 * compressed digest is known only at the end, and the registry is asked for it before uploading),
 * checking on the way that the tar is the one its config names. As a plain tar it is read straight
 * from the archive, and the registry checks it against its diff ID.
 */
export async function prepareLayer(layer: ArchiveLayer, compress: boolean, path: string, archive: string): Promise<LayerBlob> {
  if (!compress) return { digest: layer.diffId, size: layer.file.size, open: () => layer.file.open(), release: async () => {} };
  const plain = new DigestingStream();
  const packed = new DigestingStream();
  const release = () => unlink(path).catch(() => undefined);
  try {
    await pipeline(layer.file.open(), plain, await gzipFor(layer.file, LAYER_CHUNK), packed, createWriteStream(path));
  } catch (err) {
    await release();
    throw err;
  }
  if (plain.digest() !== layer.diffId) {
    await release();
    throw new CliError(`${archive} is corrupt: layer ${layer.name} has digest ${plain.digest()}, its config says ${layer.diffId}`);
  }
  return { digest: packed.digest(), size: packed.size, open: () => createReadStream(path, { highWaterMark: LAYER_CHUNK }), release };
}
