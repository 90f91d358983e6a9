import { createHash, randomUUID, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DigestingStream, parseDigest, verifyDigest } from '../oci/digest.js';
import { BlobUploadInvalid, BlobUploadUnknown, SizeInvalid } from '../oci/errors.js';
import { ignoreNotFound, PathNotFoundError, type StorageDriver } from '../storage/driver.js';
import * as paths from '../storage/paths.js';
import { exists, type BlobInfo, type BlobStore } from './blobs.js';
import type { GcCoordinator } from './gc/coordinator.js';

export interface UploadStatus {
  id: string;
  /** Bytes received so far. */
  size: number;
}

/** `Content-Range: start-end` of a PATCH (inclusive end). */
export interface ChunkRange {
  start: number;
  end?: number;
}

interface HashState {
  hash: Hash;
  size: number;
}

/** How many running hashes to keep; an evicted one is recomputed from the stored data when needed. */
const MAX_HASH_STATES = 4096;

/**
 * Resumable uploads. The data file under `_uploads/<id>/` is the truth: any request may land after a
 * restart (or on another replica) and continue from its size. The running sha256 of each upload is
 * kept in memory so finishing an upload costs no re-read; when it is missing or stale, the stored
 * data is hashed once at finish.
 */
export class UploadStore {
  private readonly hashes = new Map<string, HashState>();
  private readonly busy = new Set<string>();

  constructor(
    private readonly driver: StorageDriver,
    private readonly blobs: BlobStore,
    private readonly gc: GcCoordinator,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async start(repo: string): Promise<UploadStatus> {
    const id = randomUUID();
    await this.driver.putContent(paths.uploadStartedAt(repo, id), this.clock().toISOString());
    this.remember(key(repo, id), { hash: createHash('sha256'), size: 0 });
    return { id, size: 0 };
  }

  async status(repo: string, id: string): Promise<UploadStatus> {
    return { id, size: await this.size(repo, id) };
  }

  /** Appends a chunk; all or nothing, so a broken request leaves the upload where it was. */
  async append(repo: string, id: string, body: Readable, range?: ChunkRange): Promise<UploadStatus> {
    return this.exclusive(repo, id, () => this.appendUnlocked(repo, id, body, range));
  }

  /** Adds an optional last chunk, verifies the digest and moves the data into the blob store. */
  async finish(repo: string, id: string, digest: string, body?: Readable, range?: ChunkRange): Promise<BlobInfo> {
    const expected = parseDigest(digest);
    return this.exclusive(repo, id, async () => {
      const { size } = body ? await this.appendUnlocked(repo, id, body, range) : await this.status(repo, id);
      const k = key(repo, id);
      const state = this.hashes.get(k);
      const actual =
        expected.algorithm === 'sha256' && state && state.size === size
          ? `sha256:${state.hash.copy().digest('hex')}`
          : await this.hashStored(repo, id, expected.algorithm);
      verifyDigest({ digest: actual, size }, expected);
      const target = paths.blobData(digest);
      await this.gc.reaching([digest], async () => {
        if (!(await exists(this.driver, target))) {
          if (size === 0 && !(await exists(this.driver, paths.uploadData(repo, id)))) {
            await this.driver.putContent(target, Buffer.alloc(0));
          } else {
            await this.driver.move(paths.uploadData(repo, id), target);
          }
        }
        await this.blobs.link(repo, digest);
      });
      await this.removeUpload(repo, id);
      return { digest, size };
    });
  }

  async cancel(repo: string, id: string): Promise<void> {
    await this.size(repo, id);
    await this.removeUpload(repo, id);
  }

  private async appendUnlocked(repo: string, id: string, body: Readable, range?: ChunkRange): Promise<UploadStatus> {
    const size = await this.size(repo, id);
    if (range && range.start !== size) {
      throw new BlobUploadInvalid(`chunk starts at ${range.start} but the upload has ${size} bytes; resume at ${size}`, {
        status: 416,
        detail: { offset: size },
      });
    }
    const k = key(repo, id);
    const state = this.hashes.get(k);
    const hasher = state && state.size === size ? new DigestingStream('sha256', state) : undefined;
    const writer = await this.driver.writer(paths.uploadData(repo, id), { append: true });
    try {
      await (hasher ? pipeline(body, hasher, writer.stream) : pipeline(body, writer.stream));
      const received = writer.size() - size;
      if (range?.end !== undefined && received !== range.end - range.start + 1) {
        throw new SizeInvalid(`Content-Range ${range.start}-${range.end} announced ${range.end - range.start + 1} bytes, received ${received}`);
      }
      await writer.commit();
    } catch (err) {
      await writer.cancel();
      throw err;
    }
    if (hasher) this.remember(k, hasher.snapshot());
    else this.hashes.delete(k);
    return { id, size: writer.size() };
  }

  private async size(repo: string, id: string): Promise<number> {
    if (!paths.isUploadId(id)) throw unknownUpload(id);
    try {
      return (await this.driver.stat(paths.uploadData(repo, id))).size;
    } catch (err) {
      if (!(err instanceof PathNotFoundError)) throw err;
    }
    if (await exists(this.driver, paths.uploadStartedAt(repo, id))) return 0;
    throw unknownUpload(id);
  }

  private async hashStored(repo: string, id: string, algorithm: 'sha256' | 'sha512'): Promise<string> {
    const hasher = new DigestingStream(algorithm);
    try {
      await pipeline(await this.driver.reader(paths.uploadData(repo, id)), hasher, async function* (source) {
        for await (const _ of source);
      });
    } catch (err) {
      if (!(err instanceof PathNotFoundError)) throw err;
    }
    return hasher.digest();
  }

  private async removeUpload(repo: string, id: string): Promise<void> {
    this.hashes.delete(key(repo, id));
    await this.driver.delete(paths.uploadDir(repo, id)).catch(ignoreNotFound);
  }

  private remember(k: string, state: HashState): void {
    this.hashes.delete(k);
    this.hashes.set(k, state);
    if (this.hashes.size > MAX_HASH_STATES) this.hashes.delete(this.hashes.keys().next().value!);
  }

  /** Two requests writing one upload at once would interleave bytes; the second one is refused. */
  private async exclusive<T>(repo: string, id: string, fn: () => Promise<T>): Promise<T> {
    const k = key(repo, id);
    if (this.busy.has(k)) {
      throw new BlobUploadInvalid(`upload ${id} is busy with another request`, { status: 416 });
    }
    this.busy.add(k);
    try {
      return await fn();
    } finally {
      this.busy.delete(k);
    }
  }
}

function key(repo: string, id: string): string {
  return `${repo}\n${id}`;
}

function unknownUpload(id: string): InstanceType<typeof BlobUploadUnknown> {
  return new BlobUploadUnknown(`upload ${id} is unknown or finished`, { detail: { uuid: id } });
}
