import { isDigest } from '../oci/digest.js';
import type { CompletedRequest } from '../server/app.js';
import type { RequestInfo } from '../server/request-scope.js';

/**
 * The CNCF registry's notification envelope (distribution 2.x, `notifications/event.go`), field for
 * field, so receivers written for `registry:2` (Harbor-style scanners, CI triggers) work unchanged.
 */
export const EVENTS_MEDIA_TYPE = 'application/vnd.docker.distribution.events.v1+json';

export type EventAction = 'push' | 'pull' | 'mount' | 'delete';

export interface EventTarget {
  mediaType?: string;
  size?: number;
  digest?: string;
  /** Same as size; the CNCF registry keeps it for old receivers. */
  length?: number;
  repository: string;
  fromRepository?: string;
  url?: string;
  tag?: string;
}

export interface RegistryEvent {
  id: string;
  timestamp: string;
  action: EventAction;
  target: EventTarget;
  request: { id: string; addr?: string; host?: string; method: string; useragent: string };
  actor: { name?: string };
  source: { addr?: string; instanceID: string };
}

export interface Envelope {
  events: RegistryEvent[];
}

/** What a finished request did, before the facts its reply headers lack are looked up. */
export interface EventIntent {
  action: EventAction;
  kind: 'manifest' | 'blob';
  repository: string;
  digest?: string;
  tag?: string;
  fromRepository?: string;
  mediaType?: string;
  size?: number;
}

/** Blobs are described as the CNCF registry describes them: it does not know a layer's media type. */
const BLOB_MEDIA_TYPE = 'application/octet-stream';

/**
 * Which event a finished request makes, if any. Only successful requests count; HEAD makes none (the
 * CNCF registry sends `pull` for HEAD too, but clients HEAD every blob during a push to skip
 * uploading it, so such events would report pulls that never happened).
 */
export function intentOf(done: CompletedRequest): EventIntent | undefined {
  const { route, status, repo: repository, param } = done;
  const method = done.request.method;
  const digest = header(done, 'docker-content-digest');
  const byTag = param !== '' && !isDigest(param);
  if (route === 'manifest') {
    if (method === 'PUT' && status === 201) return { action: 'push', kind: 'manifest', repository, digest, ...(byTag ? { tag: param } : {}) };
    if (method === 'GET' && status === 200) {
      const size = Number(header(done, 'content-length'));
      return {
        action: 'pull',
        kind: 'manifest',
        repository,
        digest,
        mediaType: header(done, 'content-type'),
        ...(Number.isFinite(size) ? { size } : {}),
        ...(byTag ? { tag: param } : {}),
      };
    }
    if (method === 'DELETE' && status === 202) return { action: 'delete', kind: 'manifest', repository, ...(byTag ? { tag: param } : { digest: param }) };
    return undefined;
  }
  if (route === 'blob') {
    if (method === 'GET' && (status === 200 || status === 206)) return { action: 'pull', kind: 'blob', repository, digest, mediaType: BLOB_MEDIA_TYPE, size: blobSize(done) };
    // A redirect to storage (S3 `redirect`) is a pull too; its size is looked up.
    if (method === 'GET' && status === 307) return { action: 'pull', kind: 'blob', repository, digest: param, mediaType: BLOB_MEDIA_TYPE };
    if (method === 'DELETE' && status === 202) return { action: 'delete', kind: 'blob', repository, digest: param };
    return undefined;
  }
  if (status !== 201 || digest === undefined) return undefined;
  if (route === 'upload' && method === 'PUT') return { action: 'push', kind: 'blob', repository, digest, mediaType: BLOB_MEDIA_TYPE };
  if (route === 'upload-start' && method === 'POST') {
    const query = new URLSearchParams(done.query);
    if (query.get('mount') === null) return { action: 'push', kind: 'blob', repository, digest, mediaType: BLOB_MEDIA_TYPE };
    const from = query.get('from');
    return { action: 'mount', kind: 'blob', repository, digest, mediaType: BLOB_MEDIA_TYPE, ...(from ? { fromRepository: from } : {}) };
  }
  return undefined;
}

/** Whether the intent still lacks the size (and, for manifests, media type) its event carries. */
export function needsDescription(intent: EventIntent): boolean {
  return intent.action !== 'delete' && intent.digest !== undefined && (intent.size === undefined || intent.mediaType === undefined);
}

export interface EventContext {
  id: string;
  timestamp: Date;
  /** `http` or `https`: the scheme of the target's URL, which the request's Host completes. */
  scheme: string;
  source: { addr?: string; instanceID: string };
}

/** The event for an intent: pure, so the envelope is tested without a server. */
export function buildEvent(intent: EventIntent, request: RequestInfo, context: EventContext): RegistryEvent {
  const { repository, digest, tag, fromRepository, mediaType, size } = intent;
  const described = intent.action !== 'delete';
  // In the CNCF registry's field order, so captured events of both read alike.
  const target: EventTarget = {
    ...(described && mediaType !== undefined ? { mediaType } : {}),
    ...(described && size !== undefined ? { size } : {}),
    ...(digest !== undefined ? { digest } : {}),
    ...(described && size !== undefined ? { length: size } : {}),
    repository,
    ...(fromRepository !== undefined ? { fromRepository } : {}),
  };
  if (described && digest !== undefined && request.host !== undefined) {
    target.url = `${context.scheme}://${request.host}/v2/${repository}/${intent.kind === 'manifest' ? 'manifests' : 'blobs'}/${digest}`;
  }
  if (tag !== undefined) target.tag = tag;
  return {
    id: context.id,
    timestamp: context.timestamp.toISOString(),
    action: intent.action,
    target,
    request: {
      id: request.id,
      ...(request.remote !== undefined ? { addr: request.remote } : {}),
      ...(request.host !== undefined ? { host: request.host } : {}),
      method: request.method,
      useragent: request.userAgent ?? '',
    },
    actor: request.user !== undefined ? { name: request.user } : {},
    source: context.source,
  };
}

function header(done: CompletedRequest, name: string): string | undefined {
  const value = done.responseHeaders[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value[0] : String(value);
}

/** The whole blob's size, also for a range (`Content-Range: bytes 0-3/11`), as the CNCF registry reports. */
function blobSize(done: CompletedRequest): number | undefined {
  const range = header(done, 'content-range');
  const total = range === undefined ? undefined : /\/(\d+)$/.exec(range)?.[1];
  const size = Number(total ?? header(done, 'content-length'));
  return Number.isFinite(size) ? size : undefined;
}
