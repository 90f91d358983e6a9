import { buffer } from 'node:stream/consumers';
import { OciError } from '../oci/errors.js';
import { MediaTypes, parseManifest, type Descriptor, type Manifest, type Platform } from '../oci/manifest.js';
import type { RegistryClient } from './client.js';
import { ProtocolError } from './errors.js';

/** What `regctl inspect` reports about a manifest; the same shape is its --json output. */
export type Inspection = ImageInspection | IndexInspection;

interface Common {
  digest: string;
  mediaType: string;
  /** Bytes of all distinct content the reference reaches in the registry: manifests, configs, layers. */
  size: number;
  artifactType?: string;
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageInspection extends Common {
  kind: 'image';
  config: Descriptor & ImageConfigSummary;
  layers: Descriptor[];
}

export interface IndexInspection extends Common {
  kind: 'index';
  manifests: ChildSummary[];
}

export interface ChildSummary {
  digest: string;
  mediaType: string;
  /** The child's own total: its manifest and everything it reaches (its descriptor's size when missing). */
  size: number;
  platform?: Platform;
  artifactType?: string;
  /** The registry does not have it: indexes may list platforms that were never pushed, or were deleted. */
  missing?: true;
}

/** The parts of an image config (OCI or Docker) people look for. */
export interface ImageConfigSummary {
  created?: string;
  os?: string;
  architecture?: string;
  variant?: string;
  labels?: Record<string, string>;
  entrypoint?: string[];
  cmd?: string[];
}

const IMAGE_CONFIG_TYPES = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);
/** Image configs are small; anything bigger is not worth holding in memory for a summary. */
const MAX_CONFIG_BYTES = 8 * 1024 * 1024;
/** Indexes of indexes exist (e.g. nested attestations) but never deeply; deeper levels count by descriptor. */
const MAX_DEPTH = 3;
const CHILD_CONCURRENCY = 6;

export async function inspectManifest(client: RegistryClient, repo: string, reference: string, signal?: AbortSignal): Promise<Inspection> {
  const fetched = await client.getManifest(repo, reference, signal);
  const manifest = parseManifest(fetched.body, fetched.mediaType);
  const common: Common = { digest: fetched.digest, mediaType: manifest.mediaType, size: 0 };
  if (manifest.artifactType) common.artifactType = manifest.artifactType;
  if (manifest.subject) common.subject = manifest.subject;
  if (manifest.annotations) common.annotations = manifest.annotations;
  const top = { digest: fetched.digest, size: fetched.body.length };

  if (manifest.kind === 'image') {
    const content = imageContent(top, manifest);
    const config = { ...manifest.config, ...(await readImageConfig(client, repo, manifest.config, signal)) };
    // Before artifactType existed, artifacts were told apart by their config's media type.
    const configType = manifest.config.mediaType;
    const artifactType = common.artifactType ?? (IMAGE_CONFIG_TYPES.has(configType) || configType === MediaTypes.ociEmpty ? undefined : configType);
    return { kind: 'image', ...common, ...(artifactType ? { artifactType } : {}), size: total(content), config, layers: manifest.layers };
  }

  const children = await mapLimited(manifest.manifests, CHILD_CONCURRENCY, (d) => contentOf(client, repo, d, 1, signal).catch(missing));
  const content = new Map([[top.digest, top.size]]);
  for (const child of children) for (const [digest, size] of child ?? []) content.set(digest, size);
  const manifests = manifest.manifests.map((d, i): ChildSummary => {
    const child = children[i];
    const summary: ChildSummary = { digest: d.digest, mediaType: d.mediaType, size: child ? total(child) : d.size };
    if (d.platform) summary.platform = d.platform;
    if (d.artifactType) summary.artifactType = d.artifactType;
    if (!child) summary.missing = true;
    return summary;
  });
  return { kind: 'index', ...common, size: total(content), manifests };
}

/** `os/architecture[/variant]`, the way Docker writes platforms. */
export function formatPlatform(p: Partial<Platform> | undefined): string | undefined {
  if (!p?.os && !p?.architecture) return undefined;
  return [p.os ?? '?', p.architecture ?? '?', ...(p.variant ? [p.variant] : [])].join('/');
}

/** A child the registry lacks (404) is reported as missing rather than failing the whole inspection. */
function missing(err: unknown): undefined {
  if (err instanceof OciError && err.status === 404) return undefined;
  throw err;
}

/** Every distinct digest a descriptor reaches, with its size. */
async function contentOf(client: RegistryClient, repo: string, d: Descriptor, depth: number, signal?: AbortSignal): Promise<Map<string, number>> {
  if (depth >= MAX_DEPTH) return new Map([[d.digest, d.size]]);
  const fetched = await client.getManifest(repo, d.digest, signal);
  const manifest = parseManifest(fetched.body, fetched.mediaType);
  const top = { digest: d.digest, size: fetched.body.length };
  if (manifest.kind === 'image') return imageContent(top, manifest);
  const content = new Map([[top.digest, top.size]]);
  for (const child of manifest.manifests) {
    for (const [digest, size] of await contentOf(client, repo, child, depth + 1, signal)) content.set(digest, size);
  }
  return content;
}

function imageContent(top: { digest: string; size: number }, manifest: Manifest & { kind: 'image' }): Map<string, number> {
  return new Map([[top.digest, top.size], ...[manifest.config, ...manifest.layers].map((d): [string, number] => [d.digest, d.size])]);
}

function total(content: Map<string, number>): number {
  let sum = 0;
  for (const size of content.values()) sum += size;
  return sum;
}

async function readImageConfig(client: RegistryClient, repo: string, config: Descriptor, signal?: AbortSignal): Promise<ImageConfigSummary> {
  if (!IMAGE_CONFIG_TYPES.has(config.mediaType) || config.size > MAX_CONFIG_BYTES) return {};
  const blob = await client.getBlob(repo, config.digest, signal);
  const text = (await buffer(blob.stream)).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ProtocolError(`the image config ${config.digest} is not JSON`);
  }
  return summariseConfig(json);
}

/** Picks the summary out of a config, ignoring fields of the wrong type rather than failing on them. */
function summariseConfig(json: unknown): ImageConfigSummary {
  if (!isRecord(json)) return {};
  const inner = isRecord(json.config) ? json.config : {};
  const summary: ImageConfigSummary = {};
  if (typeof json.created === 'string') summary.created = json.created;
  if (typeof json.os === 'string') summary.os = json.os;
  if (typeof json.architecture === 'string') summary.architecture = json.architecture;
  if (typeof json.variant === 'string') summary.variant = json.variant;
  if (isRecord(inner.Labels) && Object.keys(inner.Labels).length > 0) summary.labels = inner.Labels as Record<string, string>;
  if (isStringList(inner.Entrypoint)) summary.entrypoint = inner.Entrypoint;
  if (isStringList(inner.Cmd)) summary.cmd = inner.Cmd;
  return summary;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** `fn` over `items` with at most `limit` running at once, results in input order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
