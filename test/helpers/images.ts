// Fixture builders for the interop suites: images and indexes with random content, kept on disk where
// skopeo reads them and moved with skopeo, and images built by a real docker engine. Random content
// keeps every run's digests new, so nothing can pass by finding a blob left over from an earlier run.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { expect } from 'vitest';
import { MT, blobOf, descriptorOf, encodeManifest, sha256, type Blob, type Descriptor } from './fixtures.js';
import { run, skopeo, tempDir } from './interop.js';

export type ImageFormat = 'oci' | 'docker';
type Platform = NonNullable<Descriptor['platform']>;

/** A blob that knows its media type; manifests and indexes are blobs too. */
export interface TypedBlob extends Blob {
  mediaType: string;
}

/** What one reference points at: its top manifest or index, and every blob it reaches (top included). */
export interface Fixture {
  format: ImageFormat;
  top: TypedBlob;
  blobs: TypedBlob[];
}

const FORMATS = {
  oci: { manifest: MT.ociManifest, index: MT.ociIndex, config: MT.ociConfig, layer: MT.ociLayer },
  docker: { manifest: MT.dockerManifest, index: MT.dockerList, config: MT.dockerConfig, layer: MT.dockerLayer },
} as const;
export const MANIFEST_TYPES: string[] = [MT.ociManifest, MT.ociIndex, MT.dockerManifest, MT.dockerList];

const LINUX_AMD64: Platform = { os: 'linux', architecture: 'amd64' };
const LINUX_ARM64: Platform = { os: 'linux', architecture: 'arm64' };

function typed(mediaType: string, data: Buffer | string): TypedBlob {
  return { mediaType, ...blobOf(data) };
}

function manifest(mediaType: string, json: Record<string, unknown>): TypedBlob {
  const { body, digest, size } = encodeManifest({ schemaVersion: 2, mediaType, ...json }, mediaType);
  return { mediaType, data: body, digest, size };
}

/** A gzipped tar holding one file of random bytes, so an engine can unpack it like any layer. */
async function randomLayer(mediaType: string, size: number): Promise<{ blob: TypedBlob; diffId: string }> {
  const tar = pack();
  tar.entry({ name: `random-${randomBytes(6).toString('hex')}.bin`, size, mode: 0o644, mtime: new Date(0) }, randomBytes(size));
  tar.finalize();
  const plain = await buffer(tar);
  return { blob: typed(mediaType, gzipSync(plain)), diffId: sha256(plain) };
}

/** An image a real engine could run: its config's rootfs diff_ids match its gzipped tar layers. */
export async function buildImageFixture({
  format = 'oci',
  layers = 3,
  layerSize = 8192,
  platform = LINUX_AMD64,
}: { format?: ImageFormat; layers?: number; layerSize?: number; platform?: Platform } = {}): Promise<Fixture> {
  const types = FORMATS[format];
  const built = await Promise.all(Array.from({ length: layers }, () => randomLayer(types.layer, layerSize)));
  const created = new Date(0).toISOString();
  const config = typed(
    types.config,
    JSON.stringify({
      ...platform,
      created,
      config: {},
      rootfs: { type: 'layers', diff_ids: built.map((l) => l.diffId) },
      history: built.map(() => ({ created, created_by: 'regctl test fixture' })),
    }),
  );
  const layerBlobs = built.map((l) => l.blob);
  const top = manifest(types.manifest, {
    config: descriptorOf(config.mediaType, config),
    layers: layerBlobs.map((l) => descriptorOf(l.mediaType, l)),
  });
  return { format, top, blobs: [top, config, ...layerBlobs] };
}

/** A multi-platform OCI index or Docker manifest list over one fresh image per platform. */
export async function buildIndexFixture({
  format = 'oci',
  platforms = [LINUX_AMD64, LINUX_ARM64],
}: { format?: ImageFormat; platforms?: Platform[] } = {}): Promise<Fixture> {
  const images = await Promise.all(platforms.map((platform) => buildImageFixture({ format, layers: 2, platform })));
  const top = manifest(FORMATS[format].index, {
    manifests: images.map((image, i) => descriptorOf(image.top.mediaType, image.top, { platform: platforms[i]! })),
  });
  return { format, top, blobs: [top, ...images.flatMap((image) => image.blobs)] };
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
    await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    const manifests = (await readOciIndex(dir)).filter((d) => d.annotations?.[REF_NAME] !== ref);
    manifests.push(descriptorOf(fixture.top.mediaType, fixture.top, { annotations: { [REF_NAME]: ref } }));
    await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests }));
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
  return manifest && sha256(manifest);
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

function localPath(fixture: Fixture, dir: string, ref: string, blob: TypedBlob): string {
  const [algorithm, hex] = blob.digest.split(':') as [string, string];
  if (fixture.format === 'oci') return join(dir, 'blobs', algorithm, hex);
  if (blob === fixture.top) return join(dir, ref, 'manifest.json');
  return join(dir, ref, MANIFEST_TYPES.includes(blob.mediaType) ? `${hex}.manifest.json` : hex);
}

/** One fixture of each shape the suites move: `name` for titles, `ref` for local refs and repositories. */
export const FIXTURE_KINDS = [
  { name: 'multi-layer OCI image', ref: 'oci-image', build: () => buildImageFixture({ format: 'oci', layers: 4 }) },
  { name: 'Docker schema2 image', ref: 'docker-image', build: () => buildImageFixture({ format: 'docker', layers: 3 }) },
  { name: 'multi-arch OCI index', ref: 'oci-index', build: () => buildIndexFixture({ format: 'oci' }) },
  { name: 'Docker manifest list', ref: 'docker-list', build: () => buildIndexFixture({ format: 'docker' }) },
];

/** Pushes a fixture kept by `writeLocal` to `remote` (`docker://HOST/NAME:TAG`) without rewriting it. */
export async function skopeoPush(fixture: Fixture, dir: string, ref: string, remote: string): Promise<void> {
  await skopeo('copy', '--all', '--preserve-digests', '--dest-tls-verify=false', localName(fixture.format, dir, ref), remote);
}

/** Expects `remote` to serve `fixture` byte for byte: its raw manifest, then a full copy into `dir` as `ref`. */
export async function expectServed(remote: string, fixture: Fixture, dir: string, ref: string): Promise<void> {
  const raw = await skopeo('inspect', '--raw', '--tls-verify=false', remote);
  expect(sha256(raw), `digest of the manifest ${remote} serves`).toBe(fixture.top.digest);
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
    await run('docker', ['build', '--quiet', '--tag', tag, context.path], { ...process.env, DOCKER_BUILDKIT: '0' });
  } finally {
    await context.remove();
  }
  return imageId(tag);
}

export async function imageId(ref: string): Promise<string> {
  return (await run('docker', ['image', 'inspect', '--format', '{{.Id}}', ref])).trim();
}
