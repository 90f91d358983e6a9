import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { Writable } from 'node:stream';
import type { Logger } from '../log/logger.js';
import { StorageBackendError, type FileWriter } from './driver.js';
import type { S3Bucket } from './s3-bucket.js';
import { copyParts, copyRanges, type ObjectVersion } from './s3-copy.js';
import { isNotFound, translateS3Error } from './s3-errors.js';

/** Parts uploading at once per writer: one on the wire while the next fills keeps the link busy. */
const PARTS_IN_FLIGHT = 2;

export interface WriterContext {
  bucket: S3Bucket;
  logger: Logger;
  /** Called once a commit has changed the bucket. */
  onChange(): void;
}

/**
 * Streams an object into S3: a body smaller than one part goes up in a single PutObject at commit;
 * a larger one as a multipart upload whose parts leave while the stream still arrives, so memory holds
 * at most a few parts. Nothing is visible before commit (S3 publishes an object only when its upload
 * completes), and cancel aborts the upload.
 *
 * S3 has no append. An append writer builds a new object from the old one plus the new bytes and
 * completes it over the old key in one step: the old bytes are copied inside S3 (UploadPartCopy,
 * pinned to the ETag seen at open, so a concurrent change fails the commit rather than mixing
 * versions); an old object under 5 MiB (S3's smallest part) is read back and sent as the start of the
 * first part instead. Until commit the old object stays as it was, so cancel rolls back for free and
 * a chunked upload can resume on any replica from the object alone.
 */
export class S3Writer implements FileWriter {
  readonly stream: Writable;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private written = 0;
  private nextPart: number;
  private readonly parts: CompletedPart[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private upload: Promise<string> | undefined;
  private failure: unknown;
  private done = false;

  /**
   * `base` is the object an append writer extends, `head` its bytes when it is too small to copy.
   * The copied ranges take the first part numbers, so new data parts are numbered after them.
   */
  constructor(
    private readonly ctx: WriterContext,
    private readonly path: string,
    private readonly key: string,
    private readonly append: boolean,
    private readonly base: ObjectVersion | undefined,
    head: Buffer | undefined,
  ) {
    if (head && head.length > 0) {
      this.pending.push(head);
      this.pendingBytes = head.length;
    }
    this.nextPart = 1 + copyRanges(this.base?.size ?? 0).length;
    this.stream = new Writable({
      highWaterMark: 1024 * 1024,
      write: (chunk: Buffer, _encoding, callback) => this.take(chunk).then(() => callback(), callback),
      final: (callback) => this.settle().then(() => callback(this.failure as Error | undefined), callback),
    });
  }

  size(): number {
    return (this.base?.size ?? 0) + this.written;
  }

  async commit(): Promise<void> {
    if (this.done) throw new StorageBackendError('writer already finished', this.path);
    this.done = true;
    // Nothing new for an object that exists: leave it exactly as it is.
    if (this.append && this.base && this.written === 0) return;
    try {
      await this.settle();
      if (this.failure) throw this.failure;
      const tail = this.takePending();
      const { client, name } = this.ctx.bucket;
      if (this.append) await this.checkUnchanged();
      if (!this.upload && copyRanges(this.base?.size ?? 0).length === 0) {
        await client.send(new PutObjectCommand({ Bucket: name, Key: this.key, Body: tail, ContentLength: tail.length }));
      } else {
        if (tail.length > 0 || this.parts.length === 0) await this.uploadPart(this.nextPart++, tail);
        const uploadId = await this.startUpload();
        const parts = [...this.parts].sort((a, b) => a.PartNumber! - b.PartNumber!);
        await client.send(
          new CompleteMultipartUploadCommand({ Bucket: name, Key: this.key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
        );
      }
      this.ctx.onChange();
    } catch (err) {
      await this.abort();
      throw translateS3Error(err, this.path);
    }
  }

  async cancel(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.stream.destroy();
    await this.settle();
    await this.abort();
  }

  /**
   * radosgw ignores x-amz-copy-source-if-match, so the pin on the copied version is checked once more
   * just before the new object replaces the old. A narrow window remains; the registry's uploads never
   * append to one upload from two requests at once (a client sends the next chunk after the answer).
   */
  private async checkUnchanged(): Promise<void> {
    const now = await headObject(this.ctx.bucket, this.key);
    if (now?.etag !== this.base?.etag) {
      throw new StorageBackendError('the object changed while this append was written; nothing was appended', this.path);
    }
  }

  private async take(chunk: Buffer): Promise<void> {
    if (this.done) throw new StorageBackendError('writer already finished', this.path);
    if (this.failure) throw this.failure;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.written += chunk.length;
    const { partSize } = this.ctx.bucket;
    while (this.pendingBytes >= partSize) {
      const whole = this.takePending();
      this.pending = whole.length > partSize ? [whole.subarray(partSize)] : [];
      this.pendingBytes = whole.length - partSize;
      this.launch(this.nextPart++, whole.subarray(0, partSize));
      // Backpressure: the stream waits while enough parts are on the wire.
      while (this.inFlight.size >= PARTS_IN_FLIGHT) await Promise.race(this.inFlight);
      if (this.failure) throw this.failure;
    }
  }

  private launch(partNumber: number, body: Buffer): void {
    const task = this.uploadPart(partNumber, body).then(
      () => undefined,
      (err: unknown) => void (this.failure ??= translateS3Error(err, this.path)),
    );
    const tracked = task.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private async uploadPart(partNumber: number, body: Buffer): Promise<void> {
    const uploadId = await this.startUpload();
    const { client, name } = this.ctx.bucket;
    const out = await client.send(
      new UploadPartCommand({ Bucket: name, Key: this.key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length }),
    );
    this.parts.push({ PartNumber: partNumber, ETag: out.ETag });
  }

  /** Creates the multipart upload on first need; an append's old bytes are copied in as its first parts. */
  private startUpload(): Promise<string> {
    this.upload ??= (async () => {
      const { client, name } = this.ctx.bucket;
      const created = await client.send(new CreateMultipartUploadCommand({ Bucket: name, Key: this.key }));
      const uploadId = created.UploadId!;
      if (this.base) this.parts.push(...(await copyParts(this.ctx.bucket, this.key, this.base, this.key, uploadId)));
      return uploadId;
    })();
    return this.upload;
  }

  private takePending(): Buffer {
    const whole = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return whole;
  }

  private async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled(this.inFlight);
  }

  private async abort(): Promise<void> {
    if (!this.upload) return;
    const uploadId = await this.upload.catch(() => undefined);
    if (!uploadId) return;
    const { client, name } = this.ctx.bucket;
    try {
      await client.send(new AbortMultipartUploadCommand({ Bucket: name, Key: this.key, UploadId: uploadId }));
    } catch (err) {
      // The parts stay billed until a lifecycle rule (AbortIncompleteMultipartUpload) removes them.
      this.ctx.logger.warn('could not abort an S3 multipart upload', { key: this.key, uploadId, error: String(err) });
    }
  }
}

/** Size and ETag of an object, or undefined when there is none. */
export async function headObject(bucket: S3Bucket, key: string): Promise<ObjectVersion | undefined> {
  try {
    const out = await bucket.client.send(new HeadObjectCommand({ Bucket: bucket.name, Key: key }));
    return { size: out.ContentLength ?? 0, etag: out.ETag ?? '' };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Reads a small object whole, pinned to the version seen at open. */
export async function readSmall(bucket: S3Bucket, key: string, etag: string): Promise<Buffer> {
  const out = await bucket.client.send(new GetObjectCommand({ Bucket: bucket.name, Key: key, IfMatch: etag }));
  return Buffer.from(await out.Body!.transformToByteArray());
}
