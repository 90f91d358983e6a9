import type { IncomingMessage } from 'node:http';
import { ManifestInvalid } from '../../oci/errors.js';
import { MAX_MANIFEST_BYTES } from '../../oci/manifest.js';
import type { Handler } from '../types.js';

export const getManifest: Handler = async ({ method, repo, param, registry }) => {
  const manifest = await registry.manifests.get(repo, param);
  return {
    status: 200,
    headers: {
      'Content-Type': manifest.mediaType,
      'Docker-Content-Digest': manifest.digest,
      ETag: `"${manifest.digest}"`,
      'Content-Length': manifest.body.length,
    },
    body: method === 'GET' ? manifest.body : undefined,
  };
};

export const putManifest: Handler = async ({ repo, param, headers, body, registry }) => {
  const content = await readCapped(body, MAX_MANIFEST_BYTES);
  const result = await registry.manifests.put(repo, param, content, headers['content-type']);
  const replyHeaders: Record<string, string | number> = {
    Location: `/v2/${repo}/manifests/${result.digest}`,
    'Docker-Content-Digest': result.digest,
    'Content-Length': 0,
  };
  if (result.subject) replyHeaders['OCI-Subject'] = result.subject;
  return { status: 201, headers: replyHeaders };
};

export const deleteManifest: Handler = async ({ repo, param, registry }) => {
  await registry.manifests.delete(repo, param);
  return { status: 202, headers: { 'Content-Length': 0 } };
};

/** Reads a small body whole, refusing (413) before buffering more than `max` bytes. */
async function readCapped(body: IncomingMessage, max: number): Promise<Buffer> {
  const tooLarge = () => new ManifestInvalid(`manifest exceeds the ${max / 1024 / 1024} MiB limit`, { status: 413, detail: { limit: max } });
  const declared = Number(body.headers['content-length'] ?? 0);
  if (declared > max) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > max) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}
