import { ManifestInvalid, type OciError } from './errors.js';
import { parseDigest } from './digest.js';

export const MediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
} as const;

export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  MediaTypes.ociManifest,
  MediaTypes.ociIndex,
  MediaTypes.dockerManifest,
  MediaTypes.dockerManifestList,
];

/** A manifest may be this large at most; the CNCF registry uses the same cap. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: Platform;
}

export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export type Manifest = ({ kind: 'image' } & ImageManifest) | ({ kind: 'index' } & ImageIndex);

export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MediaTypes.ociIndex || mediaType === MediaTypes.dockerManifestList;
}

/**
 * Parses and checks a manifest body against its declared Content-Type. Returns its shape and the
 * media type to serve it with. Schema 1 is refused outright: it is deprecated and unsigned pulls of it
 * are unsafe.
 */
export function parseManifest(body: Buffer, contentType: string | undefined): Manifest {
  const declared = normaliseContentType(contentType);
  if (declared === MediaTypes.dockerSchema1 || declared === MediaTypes.dockerSchema1Signed) {
    throw schema1Refused();
  }
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new ManifestInvalid(`manifest is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(json)) throw new ManifestInvalid('manifest must be a JSON object');
  if (json.schemaVersion === 1) throw schema1Refused();
  if (json.schemaVersion !== 2) throw new ManifestInvalid(`unsupported schemaVersion ${JSON.stringify(json.schemaVersion)}; expected 2`);

  const bodyType = typeof json.mediaType === 'string' ? json.mediaType : undefined;
  if (bodyType !== undefined && declared !== undefined && bodyType !== declared) {
    throw new ManifestInvalid(`mediaType "${bodyType}" in the manifest does not match Content-Type "${declared}"`);
  }
  const mediaType = bodyType ?? declared ?? inferMediaType(json);
  if (!MANIFEST_MEDIA_TYPES.includes(mediaType)) {
    throw new ManifestInvalid(`unsupported manifest media type "${mediaType}"`, { detail: { supported: MANIFEST_MEDIA_TYPES } });
  }
  const subject = json.subject === undefined ? undefined : descriptor(json.subject, 'subject');
  const artifactType = optionalString(json.artifactType, 'artifactType');
  const annotations = optionalAnnotations(json.annotations, 'annotations');

  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(json.manifests)) throw new ManifestInvalid('an index must have a "manifests" array');
    const manifests = json.manifests.map((d, i) => descriptor(d, `manifests[${i}]`));
    return { kind: 'index', schemaVersion: 2, mediaType, manifests, subject, artifactType, annotations };
  }
  if (json.config === undefined) throw new ManifestInvalid('an image manifest must have a "config" descriptor');
  const config = descriptor(json.config, 'config');
  if (!Array.isArray(json.layers)) throw new ManifestInvalid('an image manifest must have a "layers" array');
  const layers = json.layers.map((d, i) => descriptor(d, `layers[${i}]`));
  return { kind: 'image', schemaVersion: 2, mediaType, config, layers, subject, artifactType, annotations };
}

/** Reads only what serving needs (media type, subject) from a stored manifest; trusts it was validated. */
export function storedMediaType(body: Buffer): string {
  try {
    const json = JSON.parse(body.toString('utf8')) as { mediaType?: unknown; manifests?: unknown; schemaVersion?: unknown };
    if (typeof json.mediaType === 'string') return json.mediaType;
    if (json.schemaVersion === 1) return MediaTypes.dockerSchema1Signed;
    return inferMediaType(json as Record<string, unknown>);
  } catch {
    return 'application/octet-stream';
  }
}

/** Content-Type without parameters (`; charset=…`), or undefined when absent or generic. */
export function normaliseContentType(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type === '' || type === 'application/json' || type === 'application/octet-stream' ? undefined : type;
}

function inferMediaType(json: Record<string, unknown>): string {
  // OCI allows mediaType to be omitted; its shape then decides.
  return Array.isArray(json.manifests) ? MediaTypes.ociIndex : MediaTypes.ociManifest;
}

function schema1Refused(): OciError {
  return new ManifestInvalid(
    'Docker schema 1 manifests are not supported; push with a current client (it sends schema 2 or OCI manifests)',
  );
}

function descriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) throw new ManifestInvalid(`${where} must be a descriptor object`);
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== 'string' || mediaType === '') throw new ManifestInvalid(`${where}.mediaType must be a non-empty string`);
  if (typeof digest !== 'string') throw new ManifestInvalid(`${where}.digest must be a string`);
  try {
    parseDigest(digest);
  } catch (err) {
    throw new ManifestInvalid(`${where}.digest: ${(err as Error).message}`);
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new ManifestInvalid(`${where}.size must be a non-negative integer`);
  }
  const result: Descriptor = { mediaType, digest, size };
  if (value.urls !== undefined) {
    if (!Array.isArray(value.urls) || !value.urls.every((u) => typeof u === 'string')) {
      throw new ManifestInvalid(`${where}.urls must be an array of strings`);
    }
    result.urls = value.urls as string[];
  }
  const annotations = optionalAnnotations(value.annotations, `${where}.annotations`);
  if (annotations) result.annotations = annotations;
  const artifactType = optionalString(value.artifactType, `${where}.artifactType`);
  if (artifactType) result.artifactType = artifactType;
  if (value.platform !== undefined) {
    const p = value.platform;
    if (!isObject(p) || typeof p.architecture !== 'string' || typeof p.os !== 'string') {
      throw new ManifestInvalid(`${where}.platform must have "architecture" and "os" strings`);
    }
    result.platform = p as unknown as Platform;
  }
  return result;
}

function optionalString(value: unknown, where: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new ManifestInvalid(`${where} must be a string`);
  return value;
}

function optionalAnnotations(value: unknown, where: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw new ManifestInvalid(`${where} must be a map of strings`);
  }
  return value as Record<string, string>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
