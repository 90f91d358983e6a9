import { parseDigest } from '../oci/digest.js';
import { NAME_PATTERN, TAG_PATTERN } from '../oci/reference.js';
import { InvalidPathError } from './driver.js';

/**
 * The whole on-disk layout, identical to the CNCF registry's so either can serve the other's data:
 *
 * /docker/registry/v2/
 *   blobs/<alg>/<first 2 hex>/<hex>/data                      blob and manifest bytes
 *   repositories/<name>/
 *     _layers/<alg>/<hex>/link                                "<alg>:<hex>": blob is in this repo
 *     _manifests/revisions/<alg>/<hex>/link                   manifest is in this repo
 *     _manifests/tags/<tag>/current/link                      what the tag points at now
 *     _manifests/tags/<tag>/index/<alg>/<hex>/link            every digest the tag has pointed at
 *     _uploads/<uuid>/data                                    upload in progress
 *     _uploads/<uuid>/startedat                               RFC 3339 start time
 *     _referrers/<alg>/<subject hex>/<alg>/<hex>/link         regctl only: manifests with this subject
 *     _proxy/tags/<tag>/checkedat                             regctl only: when the upstream last confirmed the tag
 *     _proxy/revisions/<alg>/<hex>/fetchedat                  regctl only: manifest fetched from the upstream
 *     _proxy/layers/<alg>/<hex>/fetchedat                     regctl only: blob fetched from the upstream
 *
 * `_referrers` and `_proxy` are regctl's own; the CNCF registry skips directories starting with "_"
 * when it walks repositories, the referrers index can be rebuilt from the revisions, and losing the
 * pull-through cache's times only makes it ask its upstream again.
 * Every function validates its inputs, so user input can never steer a path outside the tree.
 */
export const ROOT = '/docker/registry/v2';
export const BLOBS_ROOT = `${ROOT}/blobs`;
export const REPOSITORIES_ROOT = `${ROOT}/repositories`;

const UPLOAD_ID = /^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$/;

function name(n: string): string {
  if (!NAME_PATTERN.test(n)) throw new InvalidPathError(n, 'invalid repository name');
  return n;
}

function tag(t: string): string {
  if (!TAG_PATTERN.test(t)) throw new InvalidPathError(t, 'invalid tag');
  return t;
}

function digestPath(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `${algorithm}/${hex}`;
}

export function blobDir(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `${BLOBS_ROOT}/${algorithm}/${hex.slice(0, 2)}/${hex}`;
}

export function blobData(digest: string): string {
  return `${blobDir(digest)}/data`;
}

export function repository(repo: string): string {
  return `${REPOSITORIES_ROOT}/${name(repo)}`;
}

export function layersDir(repo: string): string {
  return `${repository(repo)}/_layers`;
}

export function layerDir(repo: string, digest: string): string {
  return `${layersDir(repo)}/${digestPath(digest)}`;
}

export function layerLink(repo: string, digest: string): string {
  return `${layerDir(repo, digest)}/link`;
}

export function manifestsDir(repo: string): string {
  return `${repository(repo)}/_manifests`;
}

export function revisionsDir(repo: string): string {
  return `${manifestsDir(repo)}/revisions`;
}

export function revisionDir(repo: string, digest: string): string {
  return `${revisionsDir(repo)}/${digestPath(digest)}`;
}

export function revisionLink(repo: string, digest: string): string {
  return `${revisionDir(repo, digest)}/link`;
}

export function tagsDir(repo: string): string {
  return `${manifestsDir(repo)}/tags`;
}

export function tagDir(repo: string, t: string): string {
  return `${tagsDir(repo)}/${tag(t)}`;
}

export function tagCurrentLink(repo: string, t: string): string {
  return `${tagDir(repo, t)}/current/link`;
}

export function tagIndexLink(repo: string, t: string, digest: string): string {
  return `${tagDir(repo, t)}/index/${digestPath(digest)}/link`;
}

export function uploadsDir(repo: string): string {
  return `${repository(repo)}/_uploads`;
}

export function uploadDir(repo: string, id: string): string {
  if (!UPLOAD_ID.test(id)) throw new InvalidPathError(id, 'invalid upload id');
  return `${uploadsDir(repo)}/${id}`;
}

export function uploadData(repo: string, id: string): string {
  return `${uploadDir(repo, id)}/data`;
}

export function uploadStartedAt(repo: string, id: string): string {
  return `${uploadDir(repo, id)}/startedat`;
}

export function referrersDir(repo: string, subject: string): string {
  return `${repository(repo)}/_referrers/${digestPath(subject)}`;
}

export function referrerDir(repo: string, subject: string, referrer: string): string {
  return `${referrersDir(repo, subject)}/${digestPath(referrer)}`;
}

export function referrerLink(repo: string, subject: string, referrer: string): string {
  return `${referrerDir(repo, subject, referrer)}/link`;
}

export function isUploadId(id: string): boolean {
  return UPLOAD_ID.test(id);
}

export function proxyDir(repo: string): string {
  return `${repository(repo)}/_proxy`;
}

export function proxyTagsDir(repo: string): string {
  return `${proxyDir(repo)}/tags`;
}

export function proxyTagDir(repo: string, t: string): string {
  return `${proxyTagsDir(repo)}/${tag(t)}`;
}

export function proxyTagCheckedAt(repo: string, t: string): string {
  return `${proxyTagDir(repo, t)}/checkedat`;
}

export function proxyRevisionsDir(repo: string): string {
  return `${proxyDir(repo)}/revisions`;
}

export function proxyRevisionDir(repo: string, digest: string): string {
  return `${proxyRevisionsDir(repo)}/${digestPath(digest)}`;
}

export function proxyRevisionFetchedAt(repo: string, digest: string): string {
  return `${proxyRevisionDir(repo, digest)}/fetchedat`;
}

export function proxyLayersDir(repo: string): string {
  return `${proxyDir(repo)}/layers`;
}

export function proxyLayerDir(repo: string, digest: string): string {
  return `${proxyLayersDir(repo)}/${digestPath(digest)}`;
}

export function proxyLayerFetchedAt(repo: string, digest: string): string {
  return `${proxyLayerDir(repo, digest)}/fetchedat`;
}
