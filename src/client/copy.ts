import { setMaxListeners } from 'node:events';
import { pipeline, Transform, type Readable } from 'node:stream';
import { DigestInvalid, SizeInvalid } from '../oci/errors.js';
import type { Descriptor } from '../oci/manifest.js';
import { mapLimit } from '../util/concurrency.js';
import { lazyStream } from './client.js';
import { CopyPlan, type RepositoryOn } from './copy-plan.js';
import { ensureReferrerListed } from './referrers-tag.js';

export type { RepositoryOn } from './copy-plan.js';

/** What happened to one blob: its bytes streamed across, the destination had it, or it was linked there. */
export type BlobOutcome = 'copied' | 'exists' | 'mounted';

export type CopyEvent =
  | { type: 'planned'; manifests: number; blobs: number; bytes: number }
  | { type: 'bytes'; bytes: number }
  | { type: 'blob'; descriptor: Descriptor; outcome: BlobOutcome }
  | { type: 'manifest'; digest: string; mediaType: string; reference: string };

export interface CopyOptions {
  /** The destination tag of the top manifest; without one it is pushed by digest. */
  tag?: string;
  /** The digest the source must have (a destination named by digest); checked before anything is written. */
  digest?: string;
  /** Also copy the manifests that refer to the copied ones (signatures, SBOMs), recursively. */
  referrers?: boolean;
  /** Blobs in flight at once. */
  concurrency?: number;
  signal?: AbortSignal;
  onEvent?: (event: CopyEvent) => void;
}

export interface CopyStats {
  digest: string;
  mediaType: string;
  /** Manifests pushed, referrers and index children included. */
  manifests: number;
  referrers: number;
  blobs: { copied: number; skipped: number; mounted: number };
  bytesCopied: number;
}

export const DEFAULT_COPY_CONCURRENCY = 4;

/**
 * Copies a manifest and everything it reaches from one repository to another, on the same registry or
 * any two. All manifests are read first, so nothing is written for a source that turns out to be
 * incomplete or invalid; then blobs stream across (a few at once, each verified against its digest),
 * then manifests are pushed in an order the destination accepts. The first failure cancels the rest.
 */
export async function copyImage(
  source: RepositoryOn & { reference: string },
  destination: RepositoryOn,
  options: CopyOptions = {},
): Promise<CopyStats> {
  const concurrency = options.concurrency ?? DEFAULT_COPY_CONCURRENCY;
  const failed = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, failed.signal]) : failed.signal;
  // Every request in flight listens on it: a GET and a PUT per blob, and the manifest reads.
  setMaxListeners(2 * concurrency + 10, signal);
  const emit = options.onEvent ?? (() => undefined);

  const plan = new CopyPlan(source, concurrency, signal);
  const top = (await plan.add(await plan.fetch(source.reference)))!;
  if (options.digest && options.digest !== top.digest) {
    throw new DigestInvalid(`${where(source, source.reference)} has digest ${top.digest}, not ${options.digest}`);
  }
  if (options.referrers) await plan.addReferrers();
  const blobs = [...plan.blobs.values()];
  emit({ type: 'planned', manifests: plan.manifests.length, blobs: blobs.length, bytes: blobs.reduce((n, d) => n + d.size, 0) });

  const stats: CopyStats = {
    digest: top.digest,
    mediaType: top.mediaType,
    manifests: plan.manifests.length,
    referrers: plan.referrers,
    blobs: { copied: 0, skipped: 0, mounted: 0 },
    bytesCopied: 0,
  };
  const transfer = blobTransfer(source, destination, signal, (bytes) => emit({ type: 'bytes', bytes }));
  await mapLimit(blobs, concurrency, async (descriptor) => {
    let outcome: BlobOutcome;
    try {
      outcome = await transfer(descriptor);
    } catch (err) {
      failed.abort(err);
      throw err;
    }
    if (outcome === 'copied') {
      stats.blobs.copied++;
      stats.bytesCopied += descriptor.size;
    } else {
      stats.blobs[outcome === 'exists' ? 'skipped' : 'mounted']++;
    }
    emit({ type: 'blob', descriptor, outcome });
  });

  for (const manifest of plan.manifests) {
    const reference = manifest === top ? (options.tag ?? manifest.digest) : manifest.digest;
    await destination.client.putManifest(destination.repository, reference, manifest.body, manifest.mediaType, signal);
    if (manifest.referrer) {
      await ensureReferrerListed(destination.client, destination.repository, manifest.referrer.subject, manifest.referrer.descriptor, signal);
    }
    emit({ type: 'manifest', digest: manifest.digest, mediaType: manifest.mediaType, reference });
  }
  return stats;
}

/** One blob to the destination, by the cheapest way it allows: already there, a mount, or a stream. */
function blobTransfer(
  source: RepositoryOn,
  destination: RepositoryOn,
  signal: AbortSignal,
  onProgress: (bytes: number) => void,
): (descriptor: Descriptor) => Promise<BlobOutcome> {
  const sameRegistry = source.client.origin === destination.client.origin;
  const { client, repository } = destination;
  return async ({ digest, size }) => {
    if ((await client.headBlob(repository, digest, signal)) !== undefined) return 'exists';
    if (sameRegistry && (await client.mountBlob(repository, digest, source.repository, signal))) return 'mounted';
    // A factory of lazy streams: a PUT that must be sent again (retry, auth challenge) fetches afresh.
    // Progress is counted in our own stream: pushBlob's onProgress pipes, and pipe() drops source errors.
    await client.pushBlob(repository, digest, size, () => lazyStream(() => openBlob(source, digest, size, signal, onProgress)), { signal });
    return 'copied';
  };
}

async function openBlob(
  source: RepositoryOn,
  digest: string,
  size: number,
  signal: AbortSignal,
  onProgress: (bytes: number) => void,
): Promise<Readable> {
  const blob = await source.client.getBlob(source.repository, digest, signal);
  // Caught here, or the upload would fail on a Content-Length mismatch that names no blob.
  if (blob.size >= 0 && blob.size !== size) {
    blob.stream.destroy();
    throw new SizeInvalid(`${where(source, digest)} is ${blob.size} bytes, but its descriptor says ${size}`);
  }
  // pipeline, not pipe: a digest mismatch at the end of the source must fail the upload, not stall it.
  const counted = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      onProgress(chunk.length);
      cb(null, chunk);
    },
  });
  return pipeline(blob.stream, counted, () => undefined);
}

function where(on: RepositoryOn, reference: string): string {
  return `${on.client.registry}/${on.repository}${reference.includes(':') ? '@' : ':'}${reference}`;
}
