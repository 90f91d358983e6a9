import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCopyCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { MAX_PART_SIZE, MIN_PART_SIZE, type S3Bucket } from './s3-bucket.js';

/** An object as seen by HeadObject: copies are pinned to this ETag, so they never mix two versions. */
export interface ObjectVersion {
  size: number;
  etag: string;
}

/**
 * Inclusive byte ranges covering an object in as few parts as S3 allows (at most 5 GiB each), or
 * none when it is under 5 MiB and so cannot be a part that is not the last.
 */
export function copyRanges(size: number): [number, number][] {
  if (size < MIN_PART_SIZE) return [];
  const count = Math.ceil(size / MAX_PART_SIZE);
  const step = Math.ceil(size / count);
  return Array.from({ length: count }, (_, i) => [i * step, Math.min(size, (i + 1) * step) - 1]);
}

/** Copies `source` into parts 1…n of a multipart upload, inside S3. */
export function copyParts(bucket: S3Bucket, source: string, version: ObjectVersion, dest: string, uploadId: string): Promise<CompletedPart[]> {
  return Promise.all(
    copyRanges(version.size).map(async ([start, end], i) => {
      const out = await bucket.client.send(
        new UploadPartCopyCommand({
          Bucket: bucket.name,
          Key: dest,
          UploadId: uploadId,
          PartNumber: i + 1,
          CopySource: bucket.copySource(source),
          CopySourceRange: `bytes=${start}-${end}`,
          CopySourceIfMatch: version.etag,
        }),
      );
      return { PartNumber: i + 1, ETag: out.CopyPartResult?.ETag };
    }),
  );
}

/** Server-side copy: one CopyObject up to 5 GiB, a multipart copy above. */
export async function copyObject(bucket: S3Bucket, source: string, dest: string, version: ObjectVersion): Promise<void> {
  const { client, name } = bucket;
  if (version.size <= MAX_PART_SIZE) {
    await client.send(new CopyObjectCommand({ Bucket: name, Key: dest, CopySource: bucket.copySource(source), CopySourceIfMatch: version.etag }));
    return;
  }
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: name, Key: dest }));
  try {
    const parts = await copyParts(bucket, source, version, dest, UploadId!);
    await client.send(new CompleteMultipartUploadCommand({ Bucket: name, Key: dest, UploadId, MultipartUpload: { Parts: parts } }));
  } catch (err) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: name, Key: dest, UploadId })).catch(() => undefined);
    throw err;
  }
}
