import type { Readable } from 'node:stream';
import type { FileInfo, FileWriter, StorageDriver, WalkEntry } from './driver.js';

interface Entry {
  content?: Buffer;
  info?: FileInfo;
  expires: number;
}

const MAX_ENTRIES = 100_000;

/**
 * Keeps the small `link` files (tags, revisions, layers) in memory, because every manifest GET reads
 * two of them and the filesystem round trips cost more than the rest of the request. Writes and
 * deletes through this driver take effect at once; a change made by another process on the same
 * storage (a second replica, the CNCF registry's garbage collector) is seen within `ttlMs`.
 * Only what exists is cached: a missing link is always looked up again.
 */
export class LinkCachingDriver implements StorageDriver {
  readonly name: string;
  // Optional capabilities pass straight through: links are never what they return.
  readonly urlFor?: StorageDriver['urlFor'];
  readonly findDirsWith?: StorageDriver['findDirsWith'];
  private readonly entries = new Map<string, Entry>();
  /** Bumped by every change, so a read that raced a write does not cache what it saw. */
  private generation = 0;

  constructor(
    private readonly inner: StorageDriver,
    private readonly ttlMs = 1000,
    private readonly now: () => number = Date.now,
  ) {
    this.name = inner.name;
    if (inner.urlFor) this.urlFor = inner.urlFor.bind(inner);
    if (inner.findDirsWith) this.findDirsWith = inner.findDirsWith.bind(inner);
  }

  async getContent(path: string, maxBytes?: number): Promise<Buffer> {
    if (!isLink(path)) return this.inner.getContent(path, maxBytes);
    const hit = this.fresh(path);
    if (hit?.content && (maxBytes === undefined || hit.content.length <= maxBytes)) return hit.content;
    const seen = this.generation;
    const content = await this.inner.getContent(path, maxBytes);
    this.remember(path, { content }, seen);
    return content;
  }

  async stat(path: string): Promise<FileInfo> {
    if (!isLink(path)) return this.inner.stat(path);
    const hit = this.fresh(path);
    if (hit?.info) return hit.info;
    const seen = this.generation;
    const info = await this.inner.stat(path);
    this.remember(path, { info }, seen);
    return info;
  }

  async putContent(path: string, content: Buffer | string): Promise<void> {
    this.forget(path);
    await this.inner.putContent(path, content);
    this.forget(path);
  }

  reader(path: string, range?: { offset?: number; end?: number }): Promise<Readable> {
    return this.inner.reader(path, range);
  }

  async writer(path: string, options?: { append?: boolean }): Promise<FileWriter> {
    const writer = await this.inner.writer(path, options);
    return {
      stream: writer.stream,
      size: () => writer.size(),
      cancel: () => writer.cancel(),
      commit: async () => {
        this.forget(path);
        await writer.commit();
        this.forget(path);
      },
    };
  }

  list(path: string): Promise<string[]> {
    return this.inner.list(path);
  }

  async move(sourcePath: string, destPath: string): Promise<void> {
    this.forgetTree(sourcePath);
    this.forgetTree(destPath);
    await this.inner.move(sourcePath, destPath);
    this.forgetTree(destPath);
  }

  async delete(path: string): Promise<void> {
    // Forget before and after: a read racing the delete must not re-cache what is going away.
    this.forgetTree(path);
    try {
      await this.inner.delete(path);
    } finally {
      this.forgetTree(path);
    }
  }

  walk(path: string, visit: (entry: WalkEntry) => void | 'skip' | Promise<void | 'skip'>): Promise<void> {
    return this.inner.walk(path, visit);
  }

  private fresh(path: string): Entry | undefined {
    const entry = this.entries.get(path);
    if (!entry) return undefined;
    if (entry.expires > this.now()) return entry;
    this.entries.delete(path);
    return undefined;
  }

  private remember(path: string, value: { content?: Buffer; info?: FileInfo }, seen: number): void {
    if (seen !== this.generation) return;
    const existing = this.fresh(path);
    this.entries.set(path, { ...existing, ...value, expires: existing?.expires ?? this.now() + this.ttlMs });
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
  }

  private forget(path: string): void {
    this.generation++;
    this.entries.delete(path);
  }

  private forgetTree(path: string): void {
    this.forget(path);
    const prefix = `${path}/`;
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }
}

function isLink(path: string): boolean {
  return path.endsWith('/link');
}
