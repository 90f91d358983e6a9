// Fixture builders: images and indexes with random content, OCI image layouts on disk, and images
// built by a real docker engine. Random content keeps every run's digests new, so nothing can pass
// by finding a blob left over from an earlier run.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { digestOf } from '../../src/oci/digest.js';
import { MANIFEST_MEDIA_TYPES, MediaTypes, type Descriptor, type Platform } from '../../src/oci/manifest.js';
import { expect } from 'vitest';
import { run, skopeo, tempDir } from './interop.js';

/** A blob with its descriptor; manifests and indexes are blobs too. */
export interface Blob extends Descriptor {
  data: Buffer;
}

/** What one reference points at: its top manifest or index, and every blob it reaches (top included). */
export interface Fixture {
  format: ImageFormat;
  top: Blob;
  blobs: Blob[];
}

export type ImageFormat = 'oci' | 'docker';

const FORMATS = {
  oci: {
    manifest: MediaTypes.ociManifest,
    index: MediaTypes.ociIndex,
    config: 'application/vnd.oci.image.config.v1+json',
    layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  },
  docker: {
    manifest: MediaTypes.dockerManifest,
    index: MediaTypes.dockerManifestList,
    config: 'application/vnd.docker.container.image.v1+json',
    layer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  },
} as const;

export const LINUX_AMD64: Platform = { os: 'linux', architecture: 'amd64' };
export const LINUX_ARM64: Platform = { os: 'linux', architecture: 'arm64', variant: 'v8' };

function toBlob(mediaType: string, data: Buffer): Blob {
  return { mediaType, digest: digestOf(data), size: data.length, data };
}

function descriptorOf({ mediaType, digest, size }: Blob, platform?: Platform): Descriptor {
  return platform ? { mediaType, digest, size, platform } : { mediaType, digest, size };
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/** A gzipped tar holding one file of random bytes, so an engine can unpack it like any layer. */
async function randomLayer(mediaType: string, size: number): Promise<{ blob: Blob; diffId: string }> {
  const tar = pack();
  tar.entry({ name: `random-${randomBytes(6).toString('hex')}.bin`, size, mode: 0o644, mtime: new Date(0) }, randomBytes(size));
  tar.finalize();
  const plain = await buffer(tar);
  return { blob: toBlob(mediaType, gzipSync(plain)), diffId: digestOf(plain) };
}

export interface ImageOptions {
  format?: ImageFormat;
  layers?: number;
  layerSize?: number;
  platform?: Platform;
}

/** A runnable-shaped image: real config (rootfs diff_ids match the layers) and gzipped tar layers. */
export async function buildImage({ format = 'oci', layers = 3, layerSize = 8192, platform = LINUX_AMD64 }: ImageOptions = {}): Promise<Fixture> {
  const types = FORMATS[format];
  const built = await Promise.all(Array.from({ length: layers }, () => randomLayer(types.layer, layerSize)));
  const config = toBlob(
    types.config,
    json({
      ...platform,
      created: new Date(0).toISOString(),
      config: {},
      rootfs: { type: 'layers', diff_ids: built.map((l) => l.diffId) },
      history: built.map(() => ({ created: new Date(0).toISOString(), created_by: 'regctl test fixture' })),
    }),
  );
  const layerBlobs = built.map((l) => l.blob);
  const manifest = toBlob(
    types.manifest,
    json({ schemaVersion: 2, mediaType: types.manifest, config: descriptorOf(config), layers: layerBlobs.map((l) => descriptorOf(l)) }),
  );
  return { format, top: manifest, blobs: [manifest, config, ...layerBlobs] };
}

/** A multi-platform index (OCI) or manifest list (Docker) over one fresh image per platform. */
export async function buildIndex({
  format = 'oci',
  platforms = [LINUX_AMD64, LINUX_ARM64],
  layers = 2,
}: { format?: ImageFormat; platforms?: Platform[]; layers?: number } = {}): Promise<Fixture> {
  const types = FORMATS[format];
  const images = await Promise.all(platforms.map((platform) => buildImage({ format, layers, platform })));
  const index = toBlob(
    types.index,
    json({ schemaVersion: 2, mediaType: types.index, manifests: images.map((image, i) => descriptorOf(image.top, platforms[i])) }),
  );
  return { format, top: index, blobs: [index, ...images.flatMap((image) => image.blobs)] };
}

const REF_NAME = 'org.opencontainers.image.ref.name';
const DIR_VERSION = 'Directory Transport Version: 1.1\n';

/**
 * skopeo's name for `ref` kept under `dir` in a form that stores manifests byte for byte: an OCI
 * image layout for OCI fixtures; for Docker ones skopeo's `dir:` format (one directory per image),
 * because containers/image reads only OCI media types out of an OCI layout.
 */
export function localName(format: ImageFormat, dir: string, ref: string): string {
  return format === 'oci' ? `oci:${dir}:${ref}` : `dir:${join(dir, ref)}`;
}

/** Stores `fixture` under `ref` in `dir`, in the form `localName` names; OCI layouts accumulate refs. */
export async function writeLocal(dir: string, ref: string, fixture: Fixture): Promise<void> {
  if (fixture.format === 'oci') {
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    await writeFile(join(dir, 'oci-layout'), json({ imageLayoutVersion: '1.0.0' }));
    const manifests = (await readOciIndex(dir)).filter((d) => d.annotations?.[REF_NAME] !== ref);
    manifests.push({ ...descriptorOf(fixture.top), annotations: { [REF_NAME]: ref } });
    await writeFile(join(dir, 'index.json'), json({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests }));
  } else {
    await mkdir(join(dir, ref), { recursive: true });
    await writeFile(join(dir, ref, 'version'), DIR_VERSION);
  }
  for (const blob of fixture.blobs) await writeFile(localPath(fixture, dir, ref, blob), blob.data);
}

/** The digest of the top manifest stored under `ref` in `dir`, or undefined. */
async function localDigest(format: ImageFormat, dir: string, ref: string): Promise<string | undefined> {
  if (format === 'oci') return (await readOciIndex(dir)).find((d) => d.annotations?.[REF_NAME] === ref)?.digest;
  const manifest = await readFile(join(dir, ref, 'manifest.json')).catch(() => undefined);
  return manifest && digestOf(manifest);
}

/** Digests of the fixture's blobs that the local copy under `ref` lacks or holds with the wrong size. */
async function missingLocally(dir: string, ref: string, fixture: Fixture): Promise<string[]> {
  const missing: string[] = [];
  for (const blob of fixture.blobs) {
    const found = await stat(localPath(fixture, dir, ref, blob)).catch(() => undefined);
    if (found?.size !== blob.size) missing.push(blob.digest);
  }
  return missing;
}

async function readOciIndex(dir: string): Promise<Descriptor[]> {
  const text = await readFile(join(dir, 'index.json'), 'utf8').catch(() => undefined);
  return text ? (JSON.parse(text) as { manifests: Descriptor[] }).manifests : [];
}

function localPath(fixture: Fixture, dir: string, ref: string, blob: Blob): string {
  const [algorithm, hex] = blob.digest.split(':') as [string, string];
  if (fixture.format === 'oci') return join(dir, 'blobs', algorithm, hex);
  if (blob === fixture.top) return join(dir, ref, 'manifest.json');
  return join(dir, ref, MANIFEST_MEDIA_TYPES.includes(blob.mediaType) ? `${hex}.manifest.json` : hex);
}

/** One fixture of each shape the suites move: `name` for titles, `ref` for local refs and repositories. */
export const FIXTURE_KINDS = [
  { name: 'multi-layer OCI image', ref: 'oci-image', build: () => buildImage({ format: 'oci', layers: 4 }) },
  { name: 'Docker schema2 image', ref: 'docker-image', build: () => buildImage({ format: 'docker', layers: 3 }) },
  { name: 'multi-arch OCI index', ref: 'oci-index', build: () => buildIndex({ format: 'oci' }) },
  { name: 'Docker manifest list', ref: 'docker-list', build: () => buildIndex({ format: 'docker' }) },
];

/** Pushes a fixture kept by `writeLocal` to `remote` (`docker://HOST/NAME:TAG`) without rewriting it. */
export async function skopeoPush(fixture: Fixture, dir: string, ref: string, remote: string): Promise<void> {
  await skopeo('copy', '--all', '--preserve-digests', '--dest-tls-verify=false', localName(fixture.format, dir, ref), remote);
}

/** Expects `remote` to serve `fixture` byte for byte: its raw manifest, then a full copy into `dir` as `ref`. */
export async function expectServed(remote: string, fixture: Fixture, dir: string, ref: string): Promise<void> {
  const raw = await skopeo('inspect', '--raw', '--tls-verify=false', remote);
  expect(digestOf(raw), `digest of the manifest ${remote} serves`).toBe(fixture.top.digest);
  await skopeo('copy', '--all', '--preserve-digests', '--src-tls-verify=false', remote, localName(fixture.format, dir, ref));
  expect(await localDigest(fixture.format, dir, ref), `digest of the copy pulled from ${remote}`).toBe(fixture.top.digest);
  expect(await missingLocally(dir, ref, fixture), `blobs missing from the copy pulled from ${remote}`).toEqual([]);
}

/** The tags `skopeo list-tags` reports for `repository` on `host`, sorted. */
export async function skopeoTags(host: string, repository: string): Promise<string[]> {
  const listed = JSON.parse(await skopeo('list-tags', '--tls-verify=false', `docker://${host}/${repository}`)) as { Tags: string[] };
  return listed.Tags.sort();
}

/**
 * Builds `tag` FROM scratch in the docker engine, one `COPY` layer per random file, and returns its
 * image ID. The legacy builder because Debian's docker.io ships no buildx, and FROM scratch needs no
 * network.
 */
export async function buildScratchImage(tag: string, { layers = 3, layerSize = 64 * 1024 } = {}): Promise<string> {
  const context = await tempDir('docker-context');
  try {
    const files = Array.from({ length: layers }, (_, i) => `layer-${i}.bin`);
    for (const file of files) await writeFile(join(context.path, file), randomBytes(layerSize));
    const dockerfile = ['FROM scratch', ...files.map((f) => `COPY ${f} /${f}`), ''].join('\n');
    await writeFile(join(context.path, 'Dockerfile'), dockerfile);
    await run('docker', ['build', '--quiet', '--tag', tag, context.path], { env: { ...process.env, DOCKER_BUILDKIT: '0' } });
  } finally {
    await context.remove();
  }
  return imageId(tag);
}

export async function imageId(ref: string): Promise<string> {
  return (await run('docker', ['image', 'inspect', '--format', '{{.Id}}', ref])).trim();
}
