import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { pack } from 'tar-stream';
import { CliError } from '../cli/errors.js';
import type { RegistryClient } from '../client/client.js';
import { DigestingStream } from '../oci/digest.js';
import { isIndexMediaType, MAX_MANIFEST_BYTES, type ImageManifest } from '../oci/manifest.js';
import type { ArchiveTransfer } from './archive-push.js';

interface SavedLayer {
  path: string;
  size: number;
  diffId: string;
}

/**
 * Writes the image at `repository`/`reference` as a tarball `docker load` accepts (the legacy
 * `docker save` layout: uncompressed `<diff_id>/layer.tar`, `<id>.json`, manifest.json). The file
 * appears only when complete: written beside it, then renamed.
 */
export async function writeDockerSave(client: RegistryClient, repository: string, reference: string, repoTag: string | undefined, file: string): Promise<ArchiveTransfer> {
  const shown = `${repository}${reference.includes(':') ? '@' : ':'}${reference}`;
  const manifestResult = await client.getManifest(repository, reference);
  if (isIndexMediaType(manifestResult.mediaType)) {
    throw new CliError(`${shown} is a multi-platform index: pull one platform's manifest by digest (regctl inspect lists them)`);
  }
  const manifest = JSON.parse(manifestResult.body.toString('utf8')) as ImageManifest;
  const config = await readBlob(client, repository, manifest.config.digest);
  const diffIds = (JSON.parse(config.toString('utf8')) as { rootfs?: { diff_ids?: string[] } }).rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) throw new CliError(`${shown}: the config names ${diffIds.length} layers, the manifest ${manifest.layers.length}`);
  const work = await mkdtemp(join(tmpdir(), 'regctl-pull-'));
  const partial = join(dirname(file), `.${basename(file)}.${process.pid}.partial`);
  try {
    const layers: SavedLayer[] = [];
    for (const [i, layer] of manifest.layers.entries()) {
      const saved = await saveLayer(client, repository, layer, join(work, `layer-${i}.tar`));
      if (saved.diffId !== diffIds[i]) throw new CliError(`${shown}: layer ${layer.digest} unpacks to ${saved.diffId}, its config says ${diffIds[i]}`);
      layers.push(saved);
    }
    await writeTar(partial, manifest.config.digest, config, layers, repoTag);
    await rename(partial, file);
  } finally {
    await rm(partial, { force: true });
    await rm(work, { recursive: true, force: true });
  }
  return { digest: manifestResult.digest, id: manifest.config.digest, layers: { transferred: manifest.layers.length, existing: 0 } };
}

async function readBlob(client: RegistryClient, repository: string, digest: string): Promise<Buffer> {
  const blob = await client.getBlob(repository, digest);
  if (blob.size > MAX_MANIFEST_BYTES) throw new CliError(`the config ${digest} is ${blob.size} bytes, more than an image config may be`);
  return buffer(blob.stream);
}

/** Docker loads uncompressed layer tars only; gzip layers are unpacked on the way, zstd is refused. */
async function saveLayer(client: RegistryClient, repository: string, layer: { mediaType: string; digest: string }, path: string): Promise<SavedLayer> {
  if (layer.mediaType.includes('zstd')) throw new CliError(`layer ${layer.digest} is zstd-compressed, which a docker save archive cannot hold`);
  const blob = await client.getBlob(repository, layer.digest);
  const hashing = new DigestingStream();
  const steps: Array<Readable | NodeJS.ReadWriteStream> = [blob.stream];
  if (/gzip/.test(layer.mediaType)) steps.push(createGunzip());
  await pipeline([...steps, hashing, createWriteStream(path)]);
  return { path, size: hashing.size, diffId: hashing.digest() };
}

async function writeTar(path: string, configDigest: string, config: Buffer, layers: SavedLayer[], repoTag: string | undefined): Promise<void> {
  const tar = pack();
  const writing = pipeline(tar, createWriteStream(path));
  const configName = `${hexOf(configDigest)}.json`;
  const layerNames = layers.map((l) => `${hexOf(l.diffId)}/layer.tar`);
  const mtime = new Date(0);
  tar.entry({ name: configName, size: config.length, mtime }, config);
  for (const [i, layer] of layers.entries()) {
    const entry = tar.entry({ name: layerNames[i]!, size: layer.size, mode: 0o644, mtime });
    await pipeline(createReadStream(layer.path), entry);
  }
  tar.entry({ name: 'manifest.json', mtime }, JSON.stringify([{ Config: configName, RepoTags: repoTag ? [repoTag] : null, Layers: layerNames }]));
  tar.finalize();
  await writing;
}

function hexOf(digest: string): string {
  return digest.slice(digest.indexOf(':') + 1);
}
