import { Readable, Writable } from 'node:stream';
import {
  checkPath,
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

const READ_CHUNK = 1024 * 1024;

interface FileNode {
  kind: 'file';
  data: Buffer;
  modTime: Date;
}

interface DirNode {
  kind: 'dir';
  children: Map<string, Node>;
  /** The last change anywhere below. */
  modTime: Date;
}

type Node = FileNode | DirNode;

/**
 * Keeps objects in a tree in memory, for tests and `serve --ephemeral`. A directory exists only while
 * something lies below it, as in an object store. Every change happens synchronously inside one call,
 * so each is atomic to concurrent callers, and a stored Buffer is never modified (only replaced), so
 * a reader keeps the content it opened.
 */
export class MemoryDriver implements StorageDriver {
  readonly name = 'memory';
  private readonly root: DirNode;

  /** `now` stamps modTime; tests of garbage collection pass their own clock. */
  constructor(private readonly now: () => Date = () => new Date()) {
    this.root = { kind: 'dir', children: new Map(), modTime: now() };
  }

  async getContent(path: string, maxBytes = DEFAULT_MAX_CONTENT): Promise<Buffer> {
    const { data } = this.file(path);
    if (data.length > maxBytes) throw new ContentTooLargeError(path, maxBytes);
    // A copy, so a caller that changes the Buffer cannot change the stored object.
    return Buffer.from(data);
  }

  async putContent(path: string, content: Buffer | string): Promise<void> {
    checkPath(path);
    this.put(path, { kind: 'file', data: Buffer.from(content), modTime: this.now() });
  }

  async reader(path: string, range: { offset?: number; end?: number } = {}): Promise<Readable> {
    const { data } = this.file(path);
    const offset = range.offset ?? 0;
    if (!Number.isInteger(offset) || offset < 0 || offset > data.length) throw new InvalidOffsetError(path, offset);
    const end = range.end ?? data.length - 1;
    if (!Number.isInteger(end) || (range.end !== undefined && end < offset)) throw new InvalidOffsetError(path, offset);
    const stop = Math.min(end + 1, data.length);
    let position = offset;
    // Views of the stored Buffer: nothing is copied, however large the object.
    return new Readable({
      highWaterMark: READ_CHUNK,
      read() {
        if (position >= stop) {
          this.push(null);
          return;
        }
        const next = Math.min(position + READ_CHUNK, stop);
        this.push(data.subarray(position, next));
        position = next;
      },
    });
  }

  async writer(path: string, options: { append?: boolean } = {}): Promise<FileWriter> {
    checkPath(path);
    if (!options.append) {
      return new MemoryWriter(path, 0, (chunks, size) => {
        this.put(path, { kind: 'file', data: Buffer.concat(chunks, size), modTime: this.now() });
      });
    }
    const existing = this.lookup(path);
    if (existing?.kind === 'dir') throw new StorageBackendError('is a directory', path);
    // As on a filesystem, an append creates the object at once; resumable uploads rely on it existing.
    if (!existing) this.put(path, { kind: 'file', data: Buffer.alloc(0), modTime: this.now() });
    return new MemoryWriter(path, existing?.data.length ?? 0, (chunks, size) => {
      const current = this.lookup(path);
      const base = current?.kind === 'file' ? current.data : Buffer.alloc(0);
      chunks.unshift(base);
      this.put(path, { kind: 'file', data: Buffer.concat(chunks, base.length + size), modTime: this.now() });
    });
  }

  async stat(path: string): Promise<FileInfo> {
    const node = this.lookup(path);
    if (!node) throw new PathNotFoundError(path);
    return {
      path,
      size: node.kind === 'file' ? node.data.length : 0,
      modTime: new Date(node.modTime),
      isDir: node.kind === 'dir',
    };
  }

  async list(path: string): Promise<string[]> {
    const node = this.lookup(path);
    if (node?.kind !== 'dir') throw new PathNotFoundError(path);
    return [...node.children.keys()].sort();
  }

  async move(sourcePath: string, destPath: string): Promise<void> {
    checkPath(destPath);
    const node = this.lookup(sourcePath);
    if (!node) throw new PathNotFoundError(sourcePath);
    if (sourcePath === destPath) return;
    if (destPath.startsWith(`${sourcePath}/`)) {
      throw new StorageBackendError('cannot move a directory into itself', destPath);
    }
    // The node keeps its modTime, as a renamed file keeps its mtime.
    this.put(destPath, node, sourcePath);
  }

  async delete(path: string): Promise<void> {
    checkPath(path);
    if (!this.remove(path)) throw new PathNotFoundError(path);
  }

  async walk(path: string, visit: (entry: WalkEntry) => void | 'skip' | Promise<void | 'skip'>): Promise<void> {
    const node = this.lookup(path);
    if (node?.kind !== 'dir') throw new PathNotFoundError(path);
    await this.walkDir(path, node, visit);
  }

  private async walkDir(
    path: string,
    dir: DirNode,
    visit: (entry: WalkEntry) => void | 'skip' | Promise<void | 'skip'>,
  ): Promise<void> {
    const sorted = [...dir.children.keys()].sort();
    const entries = sorted.map((name) => ({ name, isDir: dir.children.get(name)!.kind === 'dir' }));
    for (const { name, isDir } of entries) {
      const child = `${path}/${name}`;
      const decision = await visit({ path: child, isDir });
      if (!isDir || decision === 'skip') continue;
      // Looked up again: the visitor, or anyone else, may have deleted or replaced it meanwhile.
      const current = this.lookup(child);
      if (current?.kind === 'dir') await this.walkDir(child, current, visit);
    }
  }

  private lookup(path: string): Node | undefined {
    let node: Node | undefined = this.root;
    for (const name of names(checkPath(path))) {
      if (node.kind !== 'dir') return undefined;
      node = node.children.get(name);
      if (!node) return undefined;
    }
    return node;
  }

  private file(path: string): FileNode {
    const node = this.lookup(path);
    if (node?.kind !== 'file') throw new PathNotFoundError(path);
    return node;
  }

  /**
   * Places `node` at `path`, replacing an object there, and (for a move) removes it from `from`.
   * Everything is checked before anything changes, so a refused put leaves the tree as it was.
   */
  private put(path: string, node: Node, from?: string): void {
    const parts = names(path);
    const leaf = parts.pop()!;
    let dir: DirNode | undefined = this.root;
    for (const name of parts) {
      const next: Node | undefined = dir.children.get(name);
      if (next?.kind === 'file') throw new StorageBackendError(`an object is in the way at ${name}`, path);
      dir = next;
      if (!dir) break;
    }
    const existing = dir?.children.get(leaf);
    if (existing?.kind === 'dir') throw new StorageBackendError('a directory is in the way', path);
    if (existing && node.kind === 'dir') throw new StorageBackendError('cannot replace an object with a directory', path);

    if (from !== undefined) this.remove(from);
    const modTime = this.now();
    dir = this.root;
    dir.modTime = modTime;
    for (const name of parts) {
      let next = dir.children.get(name) as DirNode | undefined;
      if (!next) {
        next = { kind: 'dir', children: new Map(), modTime };
        dir.children.set(name, next);
      }
      next.modTime = modTime;
      dir = next;
    }
    dir.children.set(leaf, node);
  }

  /** Removes whatever is at `path` and every directory it leaves empty; false if nothing was there. */
  private remove(path: string): boolean {
    const parts = names(path);
    const leaf = parts.pop()!;
    const chain: DirNode[] = [this.root];
    for (const name of parts) {
      const next = chain[chain.length - 1]!.children.get(name);
      if (next?.kind !== 'dir') return false;
      chain.push(next);
    }
    if (!chain[chain.length - 1]!.children.delete(leaf)) return false;
    const modTime = this.now();
    for (let i = chain.length - 1; i >= 0; i--) {
      const dir = chain[i]!;
      dir.modTime = modTime;
      if (i > 0 && dir.children.size === 0) chain[i - 1]!.children.delete(parts[i - 1]!);
    }
    return true;
  }
}

/**
 * Collects the written chunks by reference and lets `store` concatenate them on commit, so a blob is
 * copied once. As with any Node stream, a writer must not reuse a Buffer after writing it.
 */
class MemoryWriter implements FileWriter {
  readonly stream: Writable;
  private chunks: Buffer[] = [];
  private written = 0;
  private done = false;

  constructor(
    private readonly path: string,
    private readonly initialSize: number,
    private readonly store: (chunks: Buffer[], size: number) => void,
  ) {
    this.stream = new Writable({
      highWaterMark: READ_CHUNK,
      write: (chunk: Buffer, _encoding, callback) => {
        if (this.done) {
          callback(new StorageBackendError('writer already finished', path));
          return;
        }
        this.chunks.push(chunk);
        this.written += chunk.length;
        callback();
      },
    });
  }

  size(): number {
    return this.initialSize + this.written;
  }

  async commit(): Promise<void> {
    if (this.done) throw new StorageBackendError('writer already finished', this.path);
    this.done = true;
    try {
      this.store(this.chunks, this.written);
    } finally {
      this.chunks = [];
    }
  }

  async cancel(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.chunks = [];
    this.stream.destroy();
  }
}

function names(path: string): string[] {
  return path.slice(1).split('/');
}
