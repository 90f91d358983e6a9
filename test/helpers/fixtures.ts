// Builders for random blobs and manifests. Media types are spelled out here rather than imported
// from src/ so the tests are an independent oracle for what the server accepts and serves.
import { createHash, randomBytes } from 'node:crypto';
import type { StorageDriver } from '../../src/storage/driver.js';
import * as paths from '../../src/storage/paths.js';

export const MT = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  schema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

export interface Blob {
  data: Buffer;
  digest: string;
  size: number;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string };
}

export interface BuiltManifest {
  mediaType: string;
  body: Buffer;
  digest: string;
  size: number;
}

export interface Image {
  manifest: BuiltManifest;
  /** Config first, then layers; the same blob may appear twice (pushers dedupe). */
  blobs: Blob[];
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function blobOf(data: Buffer | string): Blob {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
  return { data: buf, digest: sha256(buf), size: buf.length };
}

export function randomBlob(size = 1024): Blob {
  return blobOf(randomBytes(size));
}

/** A well-formed digest of content that no test ever pushes. */
export function absentDigest(): string {
  return sha256(randomBytes(32));
}

/** Repository names unique per call, so tests sharing a server never see each other's content. */
export function uniqueRepo(prefix: string): string {
  return `${prefix}/r${randomBytes(4).toString('hex')}`;
}

export function descriptorOf(mediaType: string, content: { digest: string; size: number }, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType, digest: content.digest, size: content.size, ...extra };
}

/**
 * Serialises with three-space indentation and a trailing newline: a registry that re-encodes the
 * JSON instead of storing the bytes as pushed changes the digest, and the tests catch it.
 */
export function encodeManifest(json: Record<string, unknown>, mediaType: string): BuiltManifest {
  const body = Buffer.from(`${JSON.stringify(json, null, 3)}\n`);
  return { mediaType, body, digest: sha256(body), size: body.length };
}

export const EMPTY_CONFIG = blobOf('{}');

export interface ImageOptions {
  format?: 'oci' | 'docker';
  layers?: number;
  layerSize?: number;
  /** Makes an artifact: this config media type (with the empty config blob unless `config` is set). */
  configMediaType?: string;
  config?: Blob;
  artifactType?: string;
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export function buildImage(options: ImageOptions = {}): Image {
  const docker = options.format === 'docker';
  const mediaType = docker ? MT.dockerManifest : MT.ociManifest;
  const isArtifact = options.configMediaType !== undefined || options.artifactType !== undefined;
  const config =
    options.config ??
    (isArtifact ? EMPTY_CONFIG : blobOf(JSON.stringify({ architecture: 'amd64', os: 'linux', salt: randomBytes(8).toString('hex') })));
  const configMediaType = options.configMediaType ?? (isArtifact ? MT.ociEmpty : docker ? MT.dockerConfig : MT.ociConfig);
  const layers = Array.from({ length: options.layers ?? 2 }, () => randomBlob(options.layerSize ?? 2048));
  const json: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType,
    ...(options.artifactType ? { artifactType: options.artifactType } : {}),
    config: descriptorOf(configMediaType, config),
    layers: layers.map((l) => descriptorOf(docker ? MT.dockerLayer : MT.ociLayer, l)),
    ...(options.subject ? { subject: options.subject } : {}),
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  return { manifest: encodeManifest(json, mediaType), blobs: [config, ...layers] };
}

export interface IndexOptions {
  format?: 'oci' | 'docker';
  artifactType?: string;
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export function buildIndex(children: BuiltManifest[], options: IndexOptions = {}): BuiltManifest {
  const mediaType = options.format === 'docker' ? MT.dockerList : MT.ociIndex;
  const archs = ['amd64', 'arm64', 'riscv64', 's390x', 'ppc64le'];
  const json: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType,
    ...(options.artifactType ? { artifactType: options.artifactType } : {}),
    manifests: children.map((c, i) => descriptorOf(c.mediaType, c, { platform: { architecture: archs[i % archs.length]!, os: 'linux' } })),
    ...(options.subject ? { subject: options.subject } : {}),
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  return encodeManifest(json, mediaType);
}

export function subjectOf(manifest: BuiltManifest): Descriptor {
  return descriptorOf(manifest.mediaType, manifest);
}

/** An image manifest of exactly `bytes` bytes, padded with an annotation, for the size limit. */
export function manifestOfSize(image: Image, bytes: number): BuiltManifest {
  const json = JSON.parse(image.manifest.body.toString('utf8')) as Record<string, unknown>;
  const withPad = (pad: number): BuiltManifest => encodeManifest({ ...json, annotations: { pad: 'x'.repeat(pad) } }, MT.ociManifest);
  const overhead = withPad(0).size;
  if (bytes < overhead) throw new Error(`a manifest cannot be smaller than ${overhead} bytes`);
  return withPad(bytes - overhead);
}

/**
 * Writes an image straight into the storage tree (the CNCF layout), bypassing HTTP, for servers
 * that refuse writes (read-only) but must still serve what is on disk.
 */
export async function seedImage(driver: StorageDriver, repo: string, tag: string, image: Image): Promise<void> {
  for (const blob of image.blobs) {
    await driver.putContent(paths.blobData(blob.digest), blob.data);
    await driver.putContent(paths.layerLink(repo, blob.digest), blob.digest);
  }
  const { digest, body } = image.manifest;
  await driver.putContent(paths.blobData(digest), body);
  await driver.putContent(paths.revisionLink(repo, digest), digest);
  await driver.putContent(paths.tagIndexLink(repo, tag, digest), digest);
  await driver.putContent(paths.tagCurrentLink(repo, tag), digest);
}
