import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { DigestingStream, parseDigest, verifyDigest } from '../oci/digest.js';
import { BlobUnknown, RangeInvalid } from '../oci/errors.js';
import { PathNotFoundError, type StorageDriver } from '../storage/driver.js';
import * as paths from '../storage/paths.js';
import type { GcCoordinator } from './gc/coordinator.js';

export interface BlobInfo {
  digest: string;
  size: number;
}

/** An inclusive byte range, already checked against the blob's size. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Blobs live once in the global store and are visible to a repository only through its `_layers`
 * link, so a blob pushed to one repository cannot be read through another by guessing its digest.
 */
export class BlobStore {
  constructor(
    private readonly driver: StorageDriver,
    private readonly gc: GcCoordinator,
  ) {}

  /** Size of a blob visible in `repo`; BLOB_UNKNOWN otherwise. */
  async stat(repo: string, digest: string): Promise<BlobInfo> {
    parseDigest(digest);
    if (!(await this.isLinked(repo, digest))) throw unknown(digest);
    return this.statGlobal(digest);
  }

  /** Whether the registry holds the blob at all, in any repository. */
  existsGlobally(digest: string): Promise<boolean> {
    return exists(this.driver, paths.blobData(digest));
  }

  async statGlobal(digest: string): Promise<BlobInfo> {
    try {
      const info = await this.driver.stat(paths.blobData(digest));
      return { digest, size: info.size };
    } catch (err) {
      if (err instanceof PathNotFoundError) throw unknown(digest);
      throw err;
    }
  }

  /**
   * A blob is in a repository when it was pushed or mounted there (`_layers`), or is one of its
   * manifests (`_manifests/revisions`): clients fetch manifests through the blob endpoint too.
   */
  async isLinked(repo: string, digest: string): Promise<boolean> {
    return (await exists(this.driver, paths.layerLink(repo, digest))) || exists(this.driver, paths.revisionLink(repo, digest));
  }

  async open(repo: string, digest: string, range?: ByteRange): Promise<Readable> {
    try {
      return await this.driver.reader(paths.blobData(digest), range ? { offset: range.start, end: range.end } : {});
    } catch (err) {
      if (err instanceof PathNotFoundError) throw unknown(digest, repo);
      throw err;
    }
  }

  async link(repo: string, digest: string): Promise<void> {
    await this.driver.putContent(paths.layerLink(repo, digest), digest);
  }

  /** Removes the blob from a repository; its bytes stay until garbage collection. */
  async unlink(repo: string, digest: string): Promise<void> {
    parseDigest(digest);
    try {
      await this.driver.delete(paths.layerDir(repo, digest));
    } catch (err) {
      if (err instanceof PathNotFoundError) throw unknown(digest, repo);
      throw err;
    }
  }

  /** Streams a whole blob into the store, verifying it on the way; nothing is visible if it fails. */
  async ingest(repo: string, body: Readable, digest: string, expectedSize?: number): Promise<BlobInfo> {
    const expected = parseDigest(digest);
    const writer = await this.driver.writer(paths.blobData(digest));
    const hasher = new DigestingStream(expected.algorithm);
    try {
      await pipeline(body, hasher, writer.stream);
      verifyDigest({ digest: hasher.digest(), size: hasher.size }, expected, expectedSize);
    } catch (err) {
      await writer.cancel();
      throw err;
    }
    await this.gc.reaching([digest], async () => {
      await writer.commit();
      await this.link(repo, digest);
    });
    return { digest, size: hasher.size };
  }

  /**
   * Cross-repository mount: links a blob into `repo` when it is in `from` (or, without `from`,
   * anywhere in the registry). False when there is nothing to mount.
   */
  async mount(repo: string, digest: string, from: string | undefined): Promise<boolean> {
    return this.gc.reaching([digest], async () => {
      const visible = from === undefined || (await this.isLinked(from, digest));
      if (!visible || !(await this.existsGlobally(digest))) return false;
      await this.link(repo, digest);
      return true;
    });
  }

  /** Stores small verified content (a manifest) under its digest, if not already there. */
  async putContent(digest: string, content: Buffer): Promise<void> {
    if (await this.existsGlobally(digest)) return;
    await this.driver.putContent(paths.blobData(digest), content);
  }

  async getContent(digest: string): Promise<Buffer> {
    try {
      return await this.driver.getContent(paths.blobData(digest));
    } catch (err) {
      if (err instanceof PathNotFoundError) throw unknown(digest);
      throw err;
    }
  }
}

/** Parses a single `Range: bytes=…` header against a size; multi-range requests get the whole blob. */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  // RFC 9110 §14.2: a range unit the server does not understand is ignored, not refused.
  if (!header || !/^\s*bytes=/i.test(header)) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) {
    if (header.includes(',')) return undefined;
    throw new RangeInvalid(`unsupported Range header "${header}"`, { detail: { size } });
  }
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) throw new RangeInvalid(`range ${header} is outside the blob (${size} bytes)`, { detail: { size } });
  return { start, end };
}

export async function exists(driver: StorageDriver, path: string): Promise<boolean> {
  try {
    await driver.stat(path);
    return true;
  } catch (err) {
    if (err instanceof PathNotFoundError) return false;
    throw err;
  }
}

function unknown(digest: string, repo?: string): InstanceType<typeof BlobUnknown> {
  return new BlobUnknown(repo ? `blob ${digest} is not in repository ${repo}` : `blob ${digest} is unknown`, { detail: { digest } });
}
