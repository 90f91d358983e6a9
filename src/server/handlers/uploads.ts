import { parseDigest } from '../../oci/digest.js';
import { BlobUploadInvalid, DigestInvalid } from '../../oci/errors.js';
import { validateName } from '../../oci/reference.js';
import type { ChunkRange } from '../../registry/uploads.js';
import type { Handler, Reply, RequestContext } from '../types.js';

/** Smallest chunk we ask clients to send (except the last): fewer, larger appends. */
const CHUNK_MIN_LENGTH = 1024 * 1024;

/** POST /v2/<name>/blobs/uploads/: start an upload, upload monolithically, or mount. */
export const startUpload: Handler = async (ctx) => {
  const { repo, query, registry, body } = ctx;
  const mount = query.get('mount');
  if (mount !== null) {
    const digest = parseDigest(mount).value;
    const from = query.get('from');
    if (await registry.blobs.mount(repo, digest, from === null ? undefined : validateName(from))) return blobCreated(repo, digest);
    // The spec's fallback: answer as a plain POST so the client uploads the blob instead.
  }
  const digest = query.get('digest');
  if (digest !== null && mount === null) {
    const expectedSize = contentLength(ctx);
    await registry.blobs.ingest(repo, body, digest, expectedSize);
    return blobCreated(repo, parseDigest(digest).value);
  }
  const upload = await registry.uploads.start(repo);
  return uploadReply(202, repo, upload.id, upload.size, { 'OCI-Chunk-Min-Length': CHUNK_MIN_LENGTH });
};

/** PATCH: one chunk, in order. */
export const patchUpload: Handler = async (ctx) => {
  const { repo, param, registry, body } = ctx;
  const status = await registry.uploads.append(repo, param, body, chunkRange(ctx));
  return uploadReply(202, repo, status.id, status.size);
};

/** GET: how much the registry has, so a client can resume. */
export const uploadStatus: Handler = async ({ repo, param, registry }) => {
  const status = await registry.uploads.status(repo, param);
  return uploadReply(204, repo, status.id, status.size);
};

/** PUT ?digest=: the optional last chunk, then the blob is committed. */
export const finishUpload: Handler = async (ctx) => {
  const { repo, param, query, registry, body } = ctx;
  const digest = query.get('digest');
  if (digest === null) throw new DigestInvalid('the digest query parameter is required to finish an upload');
  const length = contentLength(ctx);
  const hasBody = length === undefined ? ctx.headers['transfer-encoding'] !== undefined : length > 0;
  const info = await registry.uploads.finish(repo, param, parseDigest(digest).value, hasBody ? body : undefined, chunkRange(ctx));
  return blobCreated(repo, info.digest);
};

export const cancelUpload: Handler = async ({ repo, param, registry }) => {
  await registry.uploads.cancel(repo, param);
  return { status: 204 };
};

function uploadReply(status: number, repo: string, id: string, size: number, extra: Record<string, string | number> = {}): Reply {
  return {
    status,
    headers: {
      Location: `/v2/${repo}/blobs/uploads/${id}`,
      Range: `0-${size > 0 ? size - 1 : 0}`,
      'Docker-Upload-UUID': id,
      'Content-Length': 0,
      ...extra,
    },
  };
}

function blobCreated(repo: string, digest: string): Reply {
  return { status: 201, headers: { Location: `/v2/${repo}/blobs/${digest}`, 'Docker-Content-Digest': digest, 'Content-Length': 0 } };
}

function contentLength({ headers }: RequestContext): number | undefined {
  const value = headers['content-length'];
  return value === undefined ? undefined : Number(value);
}

/** `Content-Range: start-end`, also accepting the `bytes start-end/total` form some clients send. */
function chunkRange({ headers }: RequestContext): ChunkRange | undefined {
  const value = headers['content-range'];
  if (value === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(value.trim());
  if (!m) throw new BlobUploadInvalid(`invalid Content-Range "${value}"; expected "<start>-<end>"`, { status: 416 });
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start) throw new BlobUploadInvalid(`invalid Content-Range "${value}": end before start`, { status: 416 });
  return { start, end };
}
