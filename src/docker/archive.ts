import { createReadStream, createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { CliError, ExitCode } from '../cli/errors.js';
import { DigestingStream } from '../oci/digest.js';
import { MAX_MANIFEST_BYTES } from '../oci/manifest.js';

/** A file of the archive, copied out to the work directory with its digest. */
export interface ArchiveFile {
  path: string;
  size: number;
  digest: string;
}

/** One image of a `docker save` tarball, checked against itself: every digest matches. */
export interface ArchiveImage {
  repoTags: string[];
  config: { data: Buffer; digest: string };
  /** Uncompressed layer tars, in order; their digests are the config's diff_ids. */
  layers: ArchiveFile[];
}

interface SaveManifestEntry {
  Config?: string;
  RepoTags?: string[] | null;
  Layers?: string[];
}

/**
 * The images of a `docker save` tarball (the legacy layout, or the OCI layout Docker 25+ writes,
 * whose manifest.json names blobs/ paths), from its extracted files. Everything is verified before a
 * byte is pushed, so a corrupt archive fails here and leaves the registry untouched.
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
  const configFile = find(entry.Config);
  const { body: data, json: config } = await readArchiveJson<{ rootfs?: { diff_ids?: string[] } }>(files, posix.normalize(entry.Config!), archive);
  const diffIds = config.rootfs?.diff_ids ?? [];
  const layers = (entry.Layers ?? []).map(find);
  if (layers.length !== diffIds.length) {
    throw new CliError(`${archive} is inconsistent: ${entry.Config} names ${diffIds.length} layers, manifest.json ${layers.length}`);
  }
  layers.forEach((layer, i) => {
    if (layer.digest !== diffIds[i]) throw new CliError(`${archive} is corrupt: layer ${entry.Layers![i]} has digest ${layer.digest}, its config says ${diffIds[i]}`);
  });
  return { repoTags: entry.RepoTags ?? [], config: { data, digest: configFile.digest }, layers };
}

/** A JSON document of the archive (manifest, config, index), its bytes kept for pushing as they are. */
export async function readArchiveJson<T>(files: Map<string, ArchiveFile>, name: string, source: string): Promise<{ body: Buffer; json: T }> {
  const file = files.get(name);
  if (!file) throw new CliError(`${source} is incomplete: it has no ${name}`);
  if (file.size > MAX_MANIFEST_BYTES) throw new CliError(`${source}: ${name} is ${file.size} bytes, more than a JSON document of an image may be`);
  const body = await readFile(file.path);
  try {
    return { body, json: JSON.parse(body.toString('utf8')) as T };
  } catch (err) {
    throw new CliError(`${source} is corrupt: ${name} is not JSON (${(err as Error).message})`, ExitCode.failure, { cause: err });
  }
}

/**
 * Copies every regular file out, named by position (never by the archive's paths, which could point
 * anywhere), hashing on the way. Symlinks, which Docker 25+ uses for its legacy paths, resolve to
 * the file they name.
 */
export async function extractArchive(file: string, workDir: string): Promise<Map<string, ArchiveFile>> {
  const files = new Map<string, ArchiveFile>();
  const links = new Map<string, string>();
  const tar = extract();
  const reading = pipeline(createReadStream(file), tar);
  // Whichever side fails first, the other's rejection must not go unhandled.
  reading.catch(() => undefined);
  try {
    for await (const entry of tar) {
      const name = posix.normalize(entry.header.name).replace(/\/$/, '');
      if (entry.header.type === 'file') {
        const path = join(workDir, `entry-${files.size}`);
        const hashing = new DigestingStream();
        await pipeline(entry, hashing, createWriteStream(path));
        files.set(name, { path, size: hashing.size, digest: hashing.digest() });
      } else {
        if (entry.header.type === 'symlink' && entry.header.linkname) links.set(name, posix.join(posix.dirname(name), entry.header.linkname));
        entry.resume();
      }
    }
    await reading;
  } catch (err) {
    throw new CliError(`${file} is not a complete tar archive: ${(err as Error).message}`, ExitCode.failure, { cause: err });
  }
  for (const [name, target] of links) {
    const found = files.get(target);
    if (found) files.set(name, found);
  }
  return files;
}

/** A layer as it goes to the registry: gzip-compressed next to the tar, or the tar as it is. */
export async function layerBlob(layer: ArchiveFile, compress: boolean): Promise<ArchiveFile> {
  if (!compress) return layer;
  const path = `${layer.path}.gz`;
  const hashing = new DigestingStream();
  await pipeline(createReadStream(layer.path), createGzip(), hashing, createWriteStream(path));
  return { path, size: hashing.size, digest: hashing.digest() };
}
