import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Readable } from 'node:stream';
import type { S3Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import {
  ContentTooLargeError,
  DEFAULT_MAX_CONTENT,
  InvalidOffsetError,
  PathNotFoundError,
  StorageBackendError,
  type FileInfo,
  type FileWriter,
  type StorageDriver,
  type WalkEntry,
} from './driver.js';
import { createS3Client, MIN_PART_SIZE, S3Bucket } from './s3-bucket.js';
import { isInvalidRange, isNotFound, translateS3Error } from './s3-errors.js';
import { childNames, findDirsWith, listChildren, listPages, type Children } from './s3-listing.js';
import { copyObject } from './s3-copy.js';
import { walkListing } from './s3-walk.js';
import { headObject, readSmall, S3Writer } from './s3-writer.js';

/**
 * Opens the driver for `storage.s3` and checks the bucket answers, so a wrong bucket, endpoint or key
 * fails `regctl serve` at start with S3's own words rather than at the first push.
 */
export async function createS3Driver(config: S3Config, logger: Logger): Promise<StorageDriver> {
  if (!Number.isInteger(config.chunkSize) || config.chunkSize < MIN_PART_SIZE) {
    throw new StorageBackendError(`storage.s3.chunksize must be at least ${MIN_PART_SIZE} bytes (5 MiB), got ${config.chunkSize}`, '/');
  }
  const client = createS3Client(config);
  try {
    await client.send(new HeadBucketCommand({ Bucket: config.bucket }));
  } catch (err) {
    client.destroy();
    const why = isNotFound(err) ? 'does not exist' : translateS3Error(err, '/').message;
    throw new StorageBackendError(`S3 bucket ${JSON.stringify(config.bucket)} at ${config.regionEndpoint ?? config.region}: ${why}`, '/', { cause: err });
  }
  return new S3Driver(client, config, logger);
}

/** Presigned URLs for redirected blob GETs live this long (the CNCF registry's default). */
const REDIRECT_TTL_SECONDS = 20 * 60;
/** DeleteObjects takes at most this many keys per request. */
const DELETE_BATCH = 1000;

/**
 * Objects in one S3 bucket under `rootdirectory`, in the same tree as the filesystem driver. S3 has
 * no directories: a directory is the common prefix of the keys below it, so it exists exactly while
 * something lies below it (as in the memory driver), and listing one is a delimiter listing.
 */
export class S3Driver implements StorageDriver {
  readonly name = 's3';
  private readonly bucket: S3Bucket;
  private changes = 0;

  /** Present only with `redirect: true`: blob GETs then answer 307 to a presigned URL. */
  readonly urlFor?: (path: string, options?: { expiresInSeconds?: number }) => Promise<string>;

  constructor(
    client: S3Client,
    config: S3Config,
    private readonly logger: Logger,
  ) {
    this.bucket = new S3Bucket(client, config.bucket, config.rootDirectory, config.chunkSize);
    if (config.redirect) this.urlFor = (path, options) => this.presign(path, options?.expiresInSeconds ?? REDIRECT_TTL_SECONDS);
  }

  async getContent(path: string, maxBytes = DEFAULT_MAX_CONTENT): Promise<Buffer> {
    const key = this.bucket.key(path);
    try {
      const out = await this.bucket.client.send(new GetObjectCommand({ Bucket: this.bucket.name, Key: key }));
      if ((out.ContentLength ?? 0) > maxBytes) {
        (out.Body as Readable | undefined)?.destroy();
        throw new ContentTooLargeError(path, maxBytes);
      }
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (err) {
      throw translateS3Error(err, path);
    }
  }

  async putContent(path: string, content: Buffer | string): Promise<void> {
    const body = Buffer.from(content);
    try {
      // A PutObject replaces the whole object at once: readers see the old value or the new one.
      await this.bucket.client.send(new PutObjectCommand({ Bucket: this.bucket.name, Key: this.bucket.key(path), Body: body, ContentLength: body.length }));
      this.changes++;
    } catch (err) {
      throw translateS3Error(err, path);
    }
  }

  async reader(path: string, range: { offset?: number; end?: number } = {}): Promise<Readable> {
    const key = this.bucket.key(path);
    const offset = range.offset ?? 0;
    const { end } = range;
    if (!Number.isInteger(offset) || offset < 0 || (end !== undefined && (!Number.isInteger(end) || end < offset))) {
      throw new InvalidOffsetError(path, offset);
    }
    // A whole object needs no Range (and an empty one could not satisfy "bytes=0-").
    const header = offset === 0 && end === undefined ? undefined : `bytes=${offset}-${end ?? ''}`;
    try {
      const out = await this.bucket.client.send(new GetObjectCommand({ Bucket: this.bucket.name, Key: key, Range: header }));
      return out.Body as Readable;
    } catch (err) {
      if (!isInvalidRange(err)) throw translateS3Error(err, path);
    }
    // S3 refuses a range starting at the end; for us that is a valid, empty read.
    const { size } = await this.stat(path);
    if (offset === size) return Readable.from([]);
    throw new InvalidOffsetError(path, offset);
  }

  async writer(path: string, options: { append?: boolean } = {}): Promise<FileWriter> {
    const key = this.bucket.key(path);
    const ctx = { bucket: this.bucket, logger: this.logger, onChange: () => void this.changes++ };
    if (!options.append) return new S3Writer(ctx, path, key, false, undefined, undefined);
    try {
      const base = await headObject(this.bucket, key);
      const head = base && base.size > 0 && base.size < MIN_PART_SIZE ? await readSmall(this.bucket, key, base.etag) : undefined;
      return new S3Writer(ctx, path, key, true, base, head);
    } catch (err) {
      throw translateS3Error(err, path);
    }
  }

  async stat(path: string): Promise<FileInfo> {
    const key = this.bucket.key(path);
    try {
      const out = await this.bucket.client.send(new HeadObjectCommand({ Bucket: this.bucket.name, Key: key }));
      return { path, size: out.ContentLength ?? 0, modTime: out.LastModified ?? new Date(0), isDir: false };
    } catch (err) {
      if (!isNotFound(err)) throw translateS3Error(err, path);
    }
    // A directory's time is that of the newest object among the first page below it: enough for
    // what reads it (the age of an upload directory), without listing a large tree.
    try {
      const first = await listPages(this.bucket, this.bucket.dirPrefix(path), { maxKeys: 1000 }).next();
      const objects = first.done ? [] : first.value.objects;
      if (objects.length === 0) throw new PathNotFoundError(path);
      const newest = Math.max(...objects.map((o) => o.LastModified?.getTime() ?? 0));
      return { path, size: 0, modTime: new Date(newest), isDir: true };
    } catch (err) {
      throw translateS3Error(err, path);
    }
  }

  async list(path: string): Promise<string[]> {
    const names = childNames(await this.children(path));
    if (names.length === 0) throw new PathNotFoundError(path);
    return names;
  }

  async move(sourcePath: string, destPath: string): Promise<void> {
    const source = this.bucket.key(sourcePath);
    const dest = this.bucket.key(destPath);
    try {
      const base = await headObject(this.bucket, source);
      if (!base) throw new PathNotFoundError(sourcePath);
      if (source === dest) return;
      // S3 has no rename: a copy inside S3 (no bytes through regctl), then the source goes.
      await copyObject(this.bucket, source, dest, base);
      this.changes++;
      await this.bucket.client.send(new DeleteObjectCommand({ Bucket: this.bucket.name, Key: source }));
    } catch (err) {
      throw translateS3Error(err, sourcePath);
    }
  }

  async delete(path: string): Promise<void> {
    const key = this.bucket.key(path);
    try {
      const [object, below] = await Promise.all([headObject(this.bucket, key), this.deleteBelow(this.bucket.dirPrefix(path))]);
      if (object) await this.bucket.client.send(new DeleteObjectCommand({ Bucket: this.bucket.name, Key: key }));
      this.changes++;
      if (!object && below === 0) throw new PathNotFoundError(path);
    } catch (err) {
      throw translateS3Error(err, path);
    }
  }

  async walk(path: string, visit: (entry: WalkEntry) => void | 'skip' | Promise<void | 'skip'>): Promise<void> {
    const top = await this.children(path);
    if (top.files.size === 0 && top.dirs.size === 0) throw new PathNotFoundError(path);
    await walkListing({ children: (dir) => this.children(dir), generation: () => this.changes }, path, top, visit);
  }

  async findDirsWith(path: string, markers: readonly string[]): Promise<string[]> {
    let found: string[] | undefined;
    try {
      found = await findDirsWith(this.bucket, this.bucket.dirPrefix(path), markers);
    } catch (err) {
      throw translateS3Error(err, path);
    }
    if (!found) throw new PathNotFoundError(path);
    return found;
  }

  private async children(path: string): Promise<Children> {
    try {
      return await listChildren(this.bucket, this.bucket.dirPrefix(path));
    } catch (err) {
      throw translateS3Error(err, path);
    }
  }

  /** Deletes every object below a prefix, a page (up to 1,000 keys) per request; returns how many. */
  private async deleteBelow(prefix: string): Promise<number> {
    let count = 0;
    for await (const { objects } of listPages(this.bucket, prefix, { maxKeys: DELETE_BATCH })) {
      if (objects.length === 0) continue;
      const out = await this.bucket.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket.name,
          Delete: { Objects: objects.map((o) => ({ Key: o.Key! })), Quiet: true },
        }),
      );
      const failed = out.Errors?.[0];
      if (failed) throw new StorageBackendError(`S3 could not delete ${failed.Key}: ${failed.Code} ${failed.Message ?? ''}`.trim(), `/${prefix}`);
      count += objects.length;
    }
    return count;
  }

  private presign(path: string, expiresIn: number): Promise<string> {
    const command = new GetObjectCommand({ Bucket: this.bucket.name, Key: this.bucket.key(path) });
    return getSignedUrl(this.bucket.client, command, { expiresIn });
  }
}
