import { parseDigest } from '../../oci/digest.js';
import { parseRange } from '../../registry/blobs.js';
import * as paths from '../../storage/paths.js';
import type { Handler, Reply } from '../types.js';

const IMMUTABLE = 'max-age=31536000';

/** GET and HEAD /v2/<name>/blobs/<digest>, with single byte ranges. */
export const getBlob: Handler = async ({ method, repo, param, headers, registry }) => {
  const digest = parseDigest(param).value;
  const { size } = await registry.blobs.stat(repo, digest);
  const range = parseRange(headers.range, size);
  const replyHeaders: Record<string, string | number> = {
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': digest,
    ETag: `"${digest}"`,
    'Accept-Ranges': 'bytes',
    'Cache-Control': IMMUTABLE,
    'Content-Length': range ? range.end - range.start + 1 : size,
  };
  if (range) replyHeaders['Content-Range'] = `bytes ${range.start}-${range.end}/${size}`;
  // Only after the checks above: the URL skips this registry's access control, so it is handed out
  // for blobs this repository holds, and clients resend their Range to it.
  if (method === 'GET' && size > 0 && registry.driver.urlFor) {
    const location = await registry.driver.urlFor(paths.blobData(digest));
    return { status: 307, headers: { Location: location, 'Docker-Content-Digest': digest, 'Content-Length': 0 } };
  }
  const reply: Reply = { status: range ? 206 : 200, headers: replyHeaders };
  if (method === 'GET' && size > 0) reply.body = await registry.blobs.open(repo, digest, range);
  return reply;
};

export const deleteBlob: Handler = async ({ repo, param, registry }) => {
  await registry.blobs.unlink(repo, parseDigest(param).value);
  return { status: 202, headers: { 'Content-Length': 0 } };
};
