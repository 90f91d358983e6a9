// Request helpers for the protocol suites. Requests go through an undici Pool with the path sent
// verbatim: `fetch` and `new URL` would normalise `..` and `%2e%2e` away before the server saw them.
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import { afterAll, beforeAll, expect } from 'vitest';
import { ERROR_CODES, type OciErrorCode } from '../../src/oci/errors.js';
import type { Blob, BuiltManifest, Image } from './fixtures.js';
import { startRegistry, type DriverKind, type TestRegistry } from './server.js';

export interface HttpResponse {
  /** "METHOD /path", for assertion messages. */
  request: string;
  status: number;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

export interface SendOptions {
  headers?: Record<string, string>;
  body?: Buffer | string | Readable;
  signal?: AbortSignal;
}

export class RegistryHttp {
  private readonly pool: Pool;

  constructor(readonly origin: string) {
    this.pool = new Pool(origin, { connections: 32 });
  }

  async send(method: string, path: string, options: SendOptions = {}): Promise<HttpResponse> {
    const res = await this.pool.request({ method, path, headers: options.headers, body: options.body, signal: options.signal });
    const body = Buffer.from(await res.body.arrayBuffer());
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) {
      if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
    }
    return { request: `${method} ${path}`, status: res.statusCode, headers, body };
  }

  get(path: string, options?: SendOptions): Promise<HttpResponse> {
    return this.send('GET', path, options);
  }

  head(path: string, options?: SendOptions): Promise<HttpResponse> {
    return this.send('HEAD', path, options);
  }

  /**
   * Path and query of a Location header. The spec lets it be relative or absolute; an absolute one
   * must point back at this server.
   */
  location(res: HttpResponse): string {
    const value = res.headers.location;
    expect(value, `${res.request}: Location header`).toBeTruthy();
    const url = new URL(value!, this.origin);
    expect(url.origin, `${res.request}: Location origin`).toBe(this.origin);
    return `${url.pathname}${url.search}`;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

export interface RegistryContext {
  reg: TestRegistry;
  http: RegistryHttp;
}

/** Starts a registry for the enclosing describe block; the fields are filled in by beforeAll. */
export function useRegistry(driver: DriverKind, options: { readOnly?: boolean; deleteEnabled?: boolean } = {}): RegistryContext {
  const ctx = {} as RegistryContext;
  beforeAll(async () => {
    ctx.reg = await startRegistry({ driver, ...options });
    ctx.http = new RegistryHttp(ctx.reg.url);
  });
  afterAll(async () => {
    await ctx.http?.close();
    await ctx.reg?.close();
  });
  return ctx;
}

export function json<T = any>(res: HttpResponse): T {
  return JSON.parse(res.body.toString('utf8')) as T;
}

/** Status and the named headers, compared in one go so a failure shows the whole picture. */
export function expectResponse(res: HttpResponse, expected: { status: number; headers?: Record<string, string | RegExp> }): void {
  const names = Object.keys(expected.headers ?? {});
  const got = { status: res.status, headers: Object.fromEntries(names.map((n) => [n, res.headers[n.toLowerCase()]])) };
  const want = {
    status: expected.status,
    headers: Object.fromEntries(names.map((n) => {
      const v = expected.headers![n]!;
      return [n, v instanceof RegExp ? expect.stringMatching(v) : v];
    })),
  };
  expect(got, `${res.request} → ${res.status} ${bodySnippet(res)}`).toEqual(want);
}

/**
 * A distribution-spec error: the status (by default the code's listed one) and a JSON error body.
 * Returns the first error, for checks on its message or detail.
 */
export function expectError(res: HttpResponse, code: OciErrorCode, status: number = ERROR_CODES[code].status): { code: string; message: string; detail?: unknown } {
  const got = { status: res.status, contentType: res.headers['content-type'], code: errorCodes(res)[0] };
  const want = { status, contentType: expect.stringMatching(/^application\/json\b/), code };
  expect(got, `${res.request} → ${res.status} ${bodySnippet(res)}`).toEqual(want);
  const first = json<{ errors: { code: string; message: string; detail?: unknown }[] }>(res).errors[0]!;
  expect(typeof first.message, `${res.request}: error message`).toBe('string');
  return first;
}

function errorCodes(res: HttpResponse): string[] {
  try {
    const body = json<{ errors?: { code?: string }[] }>(res);
    return (body.errors ?? []).map((e) => String(e.code));
  } catch {
    return [];
  }
}

function bodySnippet(res: HttpResponse): string {
  const text = res.body.toString('utf8');
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** The `<…>` target of a `Link: <…>; rel="next"` header, or undefined when there is none. */
export function nextLink(res: HttpResponse): string | undefined {
  const link = res.headers.link;
  if (!link) return undefined;
  const m = /^<([^>]+)>;\s*rel="?next"?$/.exec(link.trim());
  expect(m, `${res.request}: malformed Link header ${link}`).not.toBeNull();
  return m![1];
}

export function blobPath(repo: string, digest: string): string {
  return `/v2/${repo}/blobs/${digest}`;
}

export function manifestPath(repo: string, reference: string): string {
  return `/v2/${repo}/manifests/${reference}`;
}

export function uploadsPath(repo: string, query = ''): string {
  return `/v2/${repo}/blobs/uploads/${query}`;
}

/** `<location>?digest=…` or `&digest=…`: the spec lets a Location carry its own query. */
export function withDigest(location: string, digest: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
}

export const OCTET = { 'content-type': 'application/octet-stream' };

export function monolithicPost(http: RegistryHttp, repo: string, blob: Blob, digest = blob.digest): Promise<HttpResponse> {
  return http.send('POST', uploadsPath(repo, `?digest=${encodeURIComponent(digest)}`), { headers: OCTET, body: blob.data });
}

export async function pushBlob(http: RegistryHttp, repo: string, blob: Blob): Promise<void> {
  const res = await monolithicPost(http, repo, blob);
  expectResponse(res, { status: 201 });
}

export async function startUpload(http: RegistryHttp, repo: string): Promise<{ res: HttpResponse; location: string }> {
  const res = await http.send('POST', uploadsPath(repo), { headers: { 'content-length': '0' } });
  expectResponse(res, { status: 202 });
  return { res, location: http.location(res) };
}

export function patchChunk(http: RegistryHttp, location: string, chunk: Buffer, range?: { start: number; end?: number }): Promise<HttpResponse> {
  const headers: Record<string, string> = { ...OCTET };
  if (range) headers['content-range'] = `${range.start}-${range.end ?? range.start + chunk.length - 1}`;
  return http.send('PATCH', location, { headers, body: chunk });
}

export function finishUpload(http: RegistryHttp, location: string, digest: string, last?: Buffer): Promise<HttpResponse> {
  return http.send('PUT', withDigest(location, digest), last ? { headers: OCTET, body: last } : {});
}

export function putManifest(http: RegistryHttp, repo: string, reference: string, manifest: BuiltManifest, contentType = manifest.mediaType): Promise<HttpResponse> {
  return http.send('PUT', manifestPath(repo, reference), { headers: { 'content-type': contentType }, body: manifest.body });
}

/** Pushes every blob of the image (once each), then its manifest under `reference`. */
export async function pushImage(http: RegistryHttp, repo: string, image: Image, reference = image.manifest.digest): Promise<void> {
  const unique = new Map(image.blobs.map((b) => [b.digest, b]));
  for (const blob of unique.values()) await pushBlob(http, repo, blob);
  await pushManifestOk(http, repo, reference, image.manifest);
}

export async function pushManifestOk(http: RegistryHttp, repo: string, reference: string, manifest: BuiltManifest): Promise<void> {
  expectResponse(await putManifest(http, repo, reference, manifest), { status: 201 });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
