import { createHash } from 'node:crypto';
import { pipeline, Readable, Transform } from 'node:stream';
import { DigestInvalid, OciError } from '../oci/errors.js';
import { MANIFEST_MEDIA_TYPES, MAX_MANIFEST_BYTES, MediaTypes, type Descriptor } from '../oci/manifest.js';
import { ProtocolError } from './errors.js';
import { Transport, type TransportOptions, type TransportResponse } from './transport.js';

export interface ManifestResult {
  digest: string;
  mediaType: string;
  body: Buffer;
}

export interface ManifestHead {
  digest: string;
  mediaType: string;
  size: number;
}

export interface BlobStream {
  size: number;
  stream: Readable;
}

export interface ListOptions {
  /** Stop after this many items. */
  limit?: number;
  /** Page size to ask for. */
  pageSize?: number;
  signal?: AbortSignal;
}

/** Accept header for manifests: everything regctl understands, so the registry never converts. */
export const MANIFEST_ACCEPT = [...MANIFEST_MEDIA_TYPES, MediaTypes.dockerSchema1Signed].join(', ');


/**
 * The Distribution API, one method per protocol operation, against any registry. Blobs stream both
 * ways and are verified against their digest as they pass.
 */
export class RegistryClient {
  readonly registry: string;
  private readonly transport: Transport;

  constructor(options: TransportOptions) {
    this.registry = options.registry;
    this.transport = new Transport(options);
  }

  get origin(): string {
    return this.transport.origin;
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  async ping(signal?: AbortSignal): Promise<void> {
    const res = await this.transport.request({ method: 'GET', path: '/v2/', expect: [200], signal });
    await res.body.dump();
  }

  catalog(options: ListOptions = {}): Promise<string[]> {
    return this.paginate('/v2/_catalog', 'repositories', 'registry:catalog:*', options);
  }

  tags(repo: string, options: ListOptions = {}): Promise<string[]> {
    return this.paginate(`/v2/${repo}/tags/list`, 'tags', pullScope(repo), options);
  }

  async getManifest(repo: string, reference: string, signal?: AbortSignal): Promise<ManifestResult> {
    const res = await this.transport.request({
      method: 'GET',
      path: `/v2/${repo}/manifests/${reference}`,
      scope: pullScope(repo),
      headers: { accept: MANIFEST_ACCEPT },
      expect: [200],
      signal,
    });
    const body = await readCapped(res, MAX_MANIFEST_BYTES, `${this.registry}/${repo}:${reference}`);
    // The digest is what the bytes hash to, never just what a header (or a proxy) claims.
    const algorithm = reference.startsWith('sha512:') ? 'sha512' : 'sha256';
    const digest = `${algorithm}:${createHash(algorithm).update(body).digest('hex')}`;
    if (reference.includes(':') && reference !== digest) {
      throw new DigestInvalid(`${this.registry}/${repo}@${reference} served content with digest ${digest}`);
    }
    return { digest, mediaType: mediaTypeOf(res, body), body };
  }

  /** The manifest's digest, type and size, or undefined when there is none (HEAD, no body). */
  async headManifest(repo: string, reference: string, signal?: AbortSignal): Promise<ManifestHead | undefined> {
    const res = await this.transport.request({
      method: 'HEAD',
      path: `/v2/${repo}/manifests/${reference}`,
      scope: pullScope(repo),
      headers: { accept: MANIFEST_ACCEPT },
      expect: [200, 404],
      signal,
    });
    await res.body.dump();
    if (res.statusCode === 404) return undefined;
    const digest = header(res, 'docker-content-digest');
    if (!digest) {
      // Some registries omit the digest on HEAD; a GET tells.
      const full = await this.getManifest(repo, reference, signal);
      return { digest: full.digest, mediaType: full.mediaType, size: full.body.length };
    }
    return { digest, mediaType: header(res, 'content-type')?.split(';')[0]?.trim() ?? '', size: Number(header(res, 'content-length') ?? 0) };
  }

  async putManifest(repo: string, reference: string, body: Buffer, mediaType: string, signal?: AbortSignal): Promise<string> {
    const res = await this.transport.request({
      method: 'PUT',
      path: `/v2/${repo}/manifests/${reference}`,
      scope: pushScope(repo),
      headers: { 'content-type': mediaType },
      body,
      expect: [201, 200, 202],
      signal,
    });
    await res.body.dump();
    return header(res, 'docker-content-digest') ?? `sha256:${createHash('sha256').update(body).digest('hex')}`;
  }

  async deleteManifest(repo: string, reference: string, signal?: AbortSignal): Promise<void> {
    const res = await this.transport.request({
      method: 'DELETE',
      path: `/v2/${repo}/manifests/${reference}`,
      scope: deleteScope(repo),
      expect: [202, 200, 204],
      signal,
    });
    await res.body.dump();
  }

  /** The blob's size, or undefined when the repository does not have it. */
  async headBlob(repo: string, digest: string, signal?: AbortSignal): Promise<number | undefined> {
    const res = await this.transport.request({
      method: 'HEAD',
      path: `/v2/${repo}/blobs/${digest}`,
      scope: pullScope(repo),
      expect: [200, 404],
      signal,
    });
    await res.body.dump();
    return res.statusCode === 404 ? undefined : Number(header(res, 'content-length') ?? 0);
  }

  /** Streams a blob; the stream fails with DIGEST_INVALID at its end if the bytes do not match. */
  async getBlob(repo: string, digest: string, signal?: AbortSignal): Promise<BlobStream> {
    const res = await this.transport.request({ method: 'GET', path: `/v2/${repo}/blobs/${digest}`, scope: pullScope(repo), expect: [200], signal });
    const size = Number(header(res, 'content-length') ?? -1);
    return { size, stream: piped(res.body, verifying(digest, `${this.registry}/${repo}@${digest}`)) };
  }

  /**
   * Tries a cross-repository mount; true when the registry linked the blob, false when it opened an
   * upload instead (that upload is cancelled).
   */
  async mountBlob(repo: string, digest: string, from: string, signal?: AbortSignal): Promise<boolean> {
    const res = await this.transport.request({
      method: 'POST',
      path: `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
      scope: `repository:${repo}:pull,push repository:${from}:pull`,
      expect: [201, 202],
      signal,
    });
    await res.body.dump();
    if (res.statusCode === 201) return true;
    const location = header(res, 'location');
    if (location) await this.cancelUpload(repo, location).catch(() => undefined);
    return false;
  }

  /**
   * Uploads a blob from a stream factory: one streamed PUT, or with `chunkSize` PATCHes of that many
   * bytes (each held in memory, so it can be sent again). The factory is called again when a request
   * must be repeated (auth challenge, retry).
   */
  async pushBlob(
    repo: string,
    digest: string,
    size: number,
    open: () => Readable,
    options: { chunkSize?: number; signal?: AbortSignal; onProgress?: (bytes: number) => void } = {},
  ): Promise<void> {
    const start = await this.transport.request({
      method: 'POST',
      path: `/v2/${repo}/blobs/uploads/`,
      scope: pushScope(repo),
      expect: [202],
      signal: options.signal,
    });
    await start.body.dump();
    let location = requireLocation(start);
    const chunkSize = options.chunkSize;
    const counted = (stream: Readable): Readable => (options.onProgress ? piped(stream, counting(options.onProgress)) : stream);
    if (chunkSize === undefined || size <= chunkSize) {
      const res = await this.transport.request({
        method: 'PUT',
        path: withQuery(location, 'digest', digest),
        scope: pushScope(repo),
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
        body: () => counted(open()),
        expect: [201, 204],
        signal: options.signal,
      });
      await res.body.dump();
      return;
    }
    // One source stream cut into chunks: each PATCH carries the next `chunkSize` bytes of it.
    const source = open();
    const chunks = chunked(source, chunkSize);
    let offset = 0;
    for await (const chunk of chunks) {
      const res = await this.transport.request({
        method: 'PATCH',
        path: location,
        scope: pushScope(repo),
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(chunk.length),
          'content-range': `${offset}-${offset + chunk.length - 1}`,
        },
        body: Buffer.concat(chunk.parts, chunk.length),
        expect: [202, 204],
        signal: options.signal,
      });
      await res.body.dump();
      offset += chunk.length;
      options.onProgress?.(chunk.length);
      location = requireLocation(res, location);
    }
    const done = await this.transport.request({
      method: 'PUT',
      path: withQuery(location, 'digest', digest),
      scope: pushScope(repo),
      headers: { 'content-length': '0' },
      expect: [201, 204],
      signal: options.signal,
    });
    await done.body.dump();
  }

  async deleteBlob(repo: string, digest: string, signal?: AbortSignal): Promise<void> {
    const res = await this.transport.request({ method: 'DELETE', path: `/v2/${repo}/blobs/${digest}`, scope: deleteScope(repo), expect: [202, 200, 204], signal });
    await res.body.dump();
  }

  /**
   * Manifests whose subject is `digest`: the referrers API, or the tag schema fallback
   * (`sha256-<hex>`) on registries without it.
   */
  async referrers(repo: string, digest: string, options: { artifactType?: string; signal?: AbortSignal } = {}): Promise<Descriptor[]> {
    const query = options.artifactType ? `?artifactType=${encodeURIComponent(options.artifactType)}` : '';
    const res = await this.transport.request({
      method: 'GET',
      path: `/v2/${repo}/referrers/${digest}${query}`,
      scope: pullScope(repo),
      headers: { accept: MediaTypes.ociIndex },
      expect: [200, 404],
      signal: options.signal,
    });
    let index: { manifests?: Descriptor[] } | undefined;
    if (res.statusCode === 200 && /json/.test(header(res, 'content-type') ?? '')) {
      index = (await res.body.json()) as { manifests?: Descriptor[] };
    } else {
      await res.body.dump();
      const fallback = await this.getManifest(repo, digest.replace(':', '-'), options.signal).catch((err: unknown) => {
        if (err instanceof OciError && err.status === 404) return undefined;
        throw err;
      });
      index = fallback ? (JSON.parse(fallback.body.toString('utf8')) as { manifests?: Descriptor[] }) : undefined;
    }
    const manifests = index?.manifests ?? [];
    return options.artifactType ? manifests.filter((m) => m.artifactType === options.artifactType) : manifests;
  }

  private async cancelUpload(repo: string, location: string): Promise<void> {
    const res = await this.transport.request({ method: 'DELETE', path: location, scope: pushScope(repo), expect: [204, 200, 202, 404] });
    await res.body.dump();
  }

  private async paginate(path: string, field: string, scope: string, options: ListOptions): Promise<string[]> {
    const items: string[] = [];
    const pageSize = options.pageSize ?? (options.limit ? Math.min(options.limit, 1000) : 1000);
    let next: string | undefined = `${path}?n=${pageSize}`;
    // Bounded: a registry whose Link never ends must not loop forever.
    for (let pages = 0; next && pages < 100_000; pages++) {
      const res: TransportResponse = await this.transport.request({ method: 'GET', path: next, scope, expect: [200], signal: options.signal });
      const body = (await res.body.json()) as Record<string, unknown>;
      const page = body[field];
      if (page !== null && page !== undefined && !Array.isArray(page)) throw new ProtocolError(`${path} answered without a "${field}" list`);
      for (const item of (page as string[] | null) ?? []) {
        items.push(item);
        if (options.limit !== undefined && items.length >= options.limit) return items;
      }
      next = nextLink(header(res, 'link'));
    }
    return items;
  }
}

export function pullScope(repo: string): string {
  return `repository:${repo}:pull`;
}

export function pushScope(repo: string): string {
  return `repository:${repo}:pull,push`;
}

function deleteScope(repo: string): string {
  return `repository:${repo}:delete`;
}

/** A manifest-sized body; a registry sending more than any valid manifest is refused, not buffered. */
async function readCapped(res: TransportResponse, max: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > max) {
      res.body.destroy();
      throw new ProtocolError(`${what}: the manifest is larger than ${max / 1024 / 1024} MiB`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

function header(res: TransportResponse, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function mediaTypeOf(res: TransportResponse, body: Buffer): string {
  const declared = header(res, 'content-type')?.split(';')[0]?.trim();
  if (declared && declared !== 'application/json' && declared !== 'text/plain') return declared;
  try {
    const json = JSON.parse(body.toString('utf8')) as { mediaType?: string; manifests?: unknown };
    return json.mediaType ?? (Array.isArray(json.manifests) ? MediaTypes.ociIndex : MediaTypes.ociManifest);
  } catch {
    return declared ?? 'application/octet-stream';
  }
}

function requireLocation(res: TransportResponse, fallback?: string): string {
  const location = header(res, 'location') ?? fallback;
  if (!location) throw new ProtocolError('the registry started an upload without a Location header');
  return location;
}

function withQuery(location: string, key: string, value: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}${key}=${encodeURIComponent(value)}`;
}

/** `<…>; rel="next"` → the link target, relative to the registry. */
export function nextLink(link: string | undefined): string | undefined {
  if (!link) return undefined;
  const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(link);
  if (!m) return undefined;
  const target = m[1]!;
  if (/^https?:\/\//.test(target)) {
    const url = new URL(target);
    return `${url.pathname}${url.search}`;
  }
  return target;
}

/**
 * `source` through `transform`, with a failure of either ending the result with that error
 * (`pipe()` would leave the reader waiting forever when the connection drops mid-blob).
 */
function piped(source: Readable, transform: Transform): Transform {
  return pipeline(source, transform, () => undefined) as Transform;
}

function verifying(digest: string, what: string): Transform {
  const algorithm = digest.startsWith('sha512:') ? 'sha512' : 'sha256';
  const hash = createHash(algorithm);
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      const actual = `${algorithm}:${hash.digest('hex')}`;
      cb(actual === digest ? null : new DigestInvalid(`${what} has digest ${actual}`));
    },
  });
}

function counting(onProgress: (bytes: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      onProgress(chunk.length);
      cb(null, chunk);
    },
  });
}

/** Groups a stream's chunks into pieces of exactly `size` bytes (the last may be shorter). */
async function* chunked(source: Readable, size: number): AsyncGenerator<{ parts: Buffer[]; length: number }> {
  let parts: Buffer[] = [];
  let length = 0;
  for await (const data of source) {
    let buf = data as Buffer;
    while (buf.length > 0) {
      const take = Math.min(size - length, buf.length);
      parts.push(buf.subarray(0, take));
      length += take;
      buf = buf.subarray(take);
      if (length === size) {
        yield { parts, length };
        parts = [];
        length = 0;
      }
    }
  }
  if (length > 0) yield { parts, length };
}


/** A stream that opens its source only when first read: a replayable body from an async source. */
export function lazyStream(open: () => Promise<Readable>): Readable {
  return Readable.from(
    (async function* () {
      yield* await open();
    })(),
    { objectMode: false },
  );
}
