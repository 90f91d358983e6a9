import { adminGc } from './handlers/admin.js';
import { getBlob, deleteBlob } from './handlers/blobs.js';
import { healthz } from './handlers/health.js';
import { metricsHandler } from './handlers/metrics.js';
import { catalog, ping, referrers, tagsList } from './handlers/listing.js';
import { deleteManifest, getManifest, putManifest } from './handlers/manifests.js';
import { token } from './handlers/token.js';
import { cancelUpload, finishUpload, patchUpload, startUpload, uploadStatus } from './handlers/uploads.js';
import type { Access, Handler } from './types.js';

export interface Route {
  /** Stable name for metrics and logs. */
  name: string;
  /** Matches the path; group 1 is the repository name, group 2 (if any) the parameter. */
  pattern: RegExp;
  hasName: boolean;
  methods: Partial<Record<string, { handler: Handler; access: Access }>>;
}

const read = (handler: Handler) => ({ handler, access: 'read' as const });
const write = (handler: Handler) => ({ handler, access: 'write' as const });
const remove = (handler: Handler) => ({ handler, access: 'delete' as const });
const admin = (handler: Handler) => ({ handler, access: 'admin' as const });

/**
 * The whole API surface (distribution-spec end-1 … end-14). Names contain slashes, so each pattern
 * anchors on the fixed word after the name; order matters where one suffix ends another.
 */
export const ROUTES: Route[] = [
  { name: 'base', pattern: /^\/v2\/?$/, hasName: false, methods: { GET: read(ping), HEAD: read(ping) } },
  { name: 'catalog', pattern: /^\/v2\/_catalog$/, hasName: false, methods: { GET: read(catalog) } },
  { name: 'tags', pattern: /^\/v2\/(.+)\/tags\/list$/, hasName: true, methods: { GET: read(tagsList) } },
  {
    name: 'manifest',
    pattern: /^\/v2\/(.+)\/manifests\/([^/]+)$/,
    hasName: true,
    methods: { GET: read(getManifest), HEAD: read(getManifest), PUT: write(putManifest), DELETE: remove(deleteManifest) },
  },
  { name: 'upload-start', pattern: /^\/v2\/(.+)\/blobs\/uploads\/?$/, hasName: true, methods: { POST: write(startUpload) } },
  {
    name: 'upload',
    pattern: /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/,
    hasName: true,
    methods: { GET: read(uploadStatus), PATCH: write(patchUpload), PUT: write(finishUpload), DELETE: write(cancelUpload) },
  },
  {
    name: 'blob',
    pattern: /^\/v2\/(.+)\/blobs\/([^/]+)$/,
    hasName: true,
    methods: { GET: read(getBlob), HEAD: read(getBlob), DELETE: remove(deleteBlob) },
  },
  { name: 'referrers', pattern: /^\/v2\/(.+)\/referrers\/([^/]+)$/, hasName: true, methods: { GET: read(referrers) } },
  // regctl's own, outside /v2/ so no registry client mistakes it for the distribution API.
  { name: 'admin-gc', pattern: /^\/admin\/gc$/, hasName: false, methods: { POST: admin(adminGc) } },
  { name: 'token', pattern: /^\/token$/, hasName: false, methods: { GET: { handler: token, access: 'public' }, POST: { handler: token, access: 'public' } } },
  { name: 'healthz', pattern: /^\/healthz$/, hasName: false, methods: { GET: { handler: healthz, access: 'public' }, HEAD: { handler: healthz, access: 'public' } } },
  { name: 'metrics', pattern: /^\/metrics$/, hasName: false, methods: { GET: admin(metricsHandler) } },
];

export interface RouteMatch {
  route: Route;
  repo: string;
  param: string;
}

export function matchRoute(path: string): RouteMatch | undefined {
  for (const route of ROUTES) {
    const m = route.pattern.exec(path);
    if (!m) continue;
    return route.hasName ? { route, repo: m[1]!, param: m[2] ?? '' } : { route, repo: '', param: '' };
  }
  return undefined;
}
