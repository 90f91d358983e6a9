import { randomBytes } from 'node:crypto';
import {
  close as fsClose,
  fstat as fsFstat,
  open as fsOpen,
  read as fsRead,
  readdir as fsReaddir,
  rmdir as fsRmdir,
  stat as fsStat,
  unlink as fsUnlink,
  type Dirent,
} from 'node:fs';
import { promisify } from 'node:util';
import { mkdir, open, readdir, rename, rm, truncate, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import {
  checkPath,
  ContentTooLargeError,
  DEFAULT_MAX_CONTENT,
  InvalidOffsetError,
  PathNotFoundError,
  StorageBackendError,
  StorageError,
  type FileInfo,
  type FileWriter,
  type StorageDriver,
  type WalkEntry,
} from './driver.js';
import { FileRangeStream } from './file-stream.js';

/** Exactly the names `writer` gives its temp files: an object named "v1.tmp" (a valid tag) is listed. */
const TEMP_NAME = /^\.[0-9a-f]{16}\.tmp$/;

/**
 * Stores objects as files under `root`. Whole-object writes go to a temp file in the target's own
 * directory, are fsynced, then renamed over the target, so a crash leaves the old object or the new.
 */
export class FilesystemDriver implements StorageDriver {
  readonly name = 'filesystem';

  constructor(readonly root: string) {}

  private full(path: string): string {
    return join(this.root, checkPath(path));
  }

  async getContent(path: string, maxBytes = DEFAULT_MAX_CONTENT): Promise<Buffer> {
    try {
      return await readSmallFile(this.full(path), () => new ContentTooLargeError(path, maxBytes), maxBytes);
    } catch (err) {
      throw translate(err, path);
    }
  }

  async putContent(path: string, content: Buffer | string): Promise<void> {
    const w = await this.writer(path);
    try {
      await new Promise<void>((resolve, reject) => {
        w.stream.once('error', reject);
        w.stream.end(content, resolve);
      });
      await w.commit();
    } catch (err) {
      await w.cancel();
      throw translate(err, path);
    }
  }

  async reader(path: string, range: { offset?: number; end?: number } = {}): Promise<Readable> {
    const offset = range.offset ?? 0;
    const { end } = range;
    let fd: number;
    try {
      // Opening first makes "missing" an error here rather than a stream error later.
      fd = await openFile(this.full(path), 'r');
    } catch (err) {
      throw translate(err, path);
    }
    try {
      const info = await fstatFile(fd);
      if (info.isDirectory()) throw new PathNotFoundError(path);
      const badEnd = end !== undefined && (!Number.isInteger(end) || end < offset);
      if (!Number.isInteger(offset) || offset < 0 || offset > info.size || badEnd) throw new InvalidOffsetError(path, offset);
      return new FileRangeStream(fd, offset, end === undefined ? info.size : Math.min(end + 1, info.size));
    } catch (err) {
      await closeFile(fd);
      throw translate(err, path);
    }
  }

  async writer(path: string, options: { append?: boolean } = {}): Promise<FileWriter> {
    const target = this.full(path);
    try {
      await mkdir(dirname(target), { recursive: true });
      if (options.append) return await AppendWriter.open(target, path);
      const temp = join(dirname(target), `.${randomBytes(8).toString('hex')}.tmp`);
      return new AtomicWriter(await open(temp, 'wx', 0o644), temp, target, path);
    } catch (err) {
      throw translate(err, path);
    }
  }

  async stat(path: string): Promise<FileInfo> {
    try {
      const s = await statFile(this.full(path));
      return { path, size: s.isDirectory() ? 0 : s.size, modTime: s.mtime, isDir: s.isDirectory() };
    } catch (err) {
      throw translate(err, path);
    }
  }

  async list(path: string): Promise<string[]> {
    try {
      const names = await readdir(this.full(path));
      return names.filter((n) => !TEMP_NAME.test(n)).sort();
    } catch (err) {
      throw translate(err, path);
    }
  }

  async move(sourcePath: string, destPath: string): Promise<void> {
    const source = this.full(sourcePath);
    const dest = this.full(destPath);
    try {
      await syncFile(source);
      await mkdir(dirname(dest), { recursive: true });
      await rename(source, dest);
    } catch (err) {
      throw translate(err, sourcePath);
    }
  }

  async delete(path: string): Promise<void> {
    const file = this.full(path);
    try {
      await removeTree(file);
    } catch (err) {
      throw translate(err, path);
    }
  }

  async walk(path: string, visit: (entry: WalkEntry) => void | 'skip' | Promise<void | 'skip'>): Promise<void> {
    let entries;
    try {
      entries = await readdir(this.full(path), { withFileTypes: true });
    } catch (err) {
      throw translate(err, path);
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (TEMP_NAME.test(entry.name)) continue;
      const child = `${path}/${entry.name}`;
      const isDir = entry.isDirectory();
      const decision = await visit({ path: child, isDir });
      if (isDir && decision !== 'skip') {
        try {
          await this.walk(child, visit);
        } catch (err) {
          // Something else (gc, a delete) removed it while we walked: nothing left to visit.
          if (!(err instanceof PathNotFoundError)) throw err;
        }
      }
    }
  }
}

/**
 * Writes to an open handle and leaves it open when the stream ends, so the writer can fsync before
 * closing (a stream from `fh.createWriteStream` would pin the handle and make close() hang).
 */
const SYNC_EVERY = 8 * 1024 * 1024;

class HandleSink extends Writable {
  written = 0;
  private unsynced = 0;
  private syncing: Promise<void> | undefined;

  constructor(private readonly fh: FileHandle) {
    super({ highWaterMark: 1024 * 1024 });
  }

  /** Waits for a background flush, so the handle is not closed under it. */
  async settle(): Promise<void> {
    await this.syncing;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.writeAll([chunk]).then(() => cb(), cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    this.writeAll(chunks.map((c) => c.chunk)).then(() => cb(), cb);
  }

  private async writeAll(buffers: Buffer[]): Promise<void> {
    let pending = buffers;
    while (pending.length > 0) {
      const { bytesWritten } = await this.fh.writev(pending);
      this.written += bytesWritten;
      this.unsynced += bytesWritten;
      pending = skipBytes(pending, bytesWritten);
    }
    // Flush to disk in the background as data arrives, so the fsync at commit has little left to do.
    if (this.unsynced >= SYNC_EVERY && !this.syncing) {
      this.unsynced = 0;
      this.syncing = this.fh.datasync().then(
        () => (this.syncing = undefined),
        () => (this.syncing = undefined),
      );
    }
  }
}

function skipBytes(buffers: Buffer[], count: number): Buffer[] {
  let rest = count;
  const out: Buffer[] = [];
  for (const b of buffers) {
    if (rest >= b.length) {
      rest -= b.length;
      continue;
    }
    out.push(rest > 0 ? b.subarray(rest) : b);
    rest = 0;
  }
  return out;
}

class AtomicWriter implements FileWriter {
  readonly stream: HandleSink;
  private done = false;

  constructor(
    private readonly fh: FileHandle,
    private readonly temp: string,
    private readonly target: string,
    private readonly path: string,
  ) {
    this.stream = new HandleSink(fh);
  }

  size(): number {
    return this.stream.written;
  }

  async commit(): Promise<void> {
    if (this.done) throw new StorageBackendError('writer already finished', this.path);
    this.done = true;
    try {
      await this.stream.settle();
      await this.fh.sync();
      await release(this.stream, this.fh);
      await rename(this.temp, this.target);
    } catch (err) {
      await rm(this.temp, { force: true });
      throw translate(err, this.path);
    }
  }

  async cancel(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.stream.destroy();
    await this.fh.close().catch(() => undefined);
    await rm(this.temp, { force: true });
  }
}

class AppendWriter implements FileWriter {
  readonly stream: HandleSink;
  private done = false;

  static async open(target: string, path: string): Promise<AppendWriter> {
    const fh = await open(target, 'a', 0o644);
    const { size } = await fh.stat();
    return new AppendWriter(fh, size, target, path);
  }

  private constructor(
    private readonly fh: FileHandle,
    private readonly initialSize: number,
    private readonly target: string,
    private readonly path: string,
  ) {
    this.stream = new HandleSink(fh);
  }

  size(): number {
    return this.initialSize + this.stream.written;
  }

  async commit(): Promise<void> {
    if (this.done) throw new StorageBackendError('writer already finished', this.path);
    this.done = true;
    // No fsync per chunk: an appended object becomes durable when it is moved into place (move
    // syncs it first), which saves one disk flush per PATCH of a chunked upload.
    await release(this.stream, this.fh);
  }

  async cancel(): Promise<void> {
    if (this.done) return;
    this.done = true;
    // An append is all or nothing: a half-received chunk must not move the upload's offset.
    // release() returns only once a write in flight has landed and the handle is closed: truncate by path.
    await release(this.stream, this.fh).catch(() => undefined);
    await truncate(this.target, this.initialSize).catch(() => undefined);
  }
}

/** Stops the sink taking more data; close() then waits for a write in flight before closing. */
async function release(stream: HandleSink, fh: FileHandle): Promise<void> {
  stream.destroy();
  await stream.settle();
  await fh.close();
}

/** Flushes a file's data to disk; a directory needs nothing (it holds no object data). */
async function syncFile(file: string): Promise<void> {
  const fh = await open(file, 'r');
  try {
    if ((await fh.stat()).isFile()) await fh.datasync();
  } finally {
    await fh.close();
  }
}

/**
 * Deletes a file or a directory tree in as few calls as the kernel allows (readdir, unlink, rmdir):
 * garbage collection removes thousands of blob directories, and fs.rm spends twice the calls on each.
 * A missing path is ENOENT, which callers turn into PathNotFound.
 */
async function removeTree(path: string): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdirTyped(path, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return unlinkFile(path);
    throw err;
  }
  await Promise.all(entries.map((e) => (e.isDirectory() ? removeTree(join(path, e.name)) : unlinkFile(join(path, e.name)))));
  await removeDir(path);
}

const readdirTyped = promisify(fsReaddir) as (path: string, options: { withFileTypes: true }) => Promise<Dirent[]>;
const unlinkFile = promisify(fsUnlink);
const removeDir = promisify(fsRmdir);

/*
 * Links and manifests are read and stat'ed on every request and thousands at a time by garbage
 * collection; the callback API costs half of what fs/promises does per call, so these two use it.
 */
const statFile = promisify(fsStat);
/** Blob reads too: FileRangeStream reads with the callback API, so it takes a plain descriptor. */
const openFile = promisify(fsOpen);
const fstatFile = promisify(fsFstat);
const closeFile = promisify(fsClose);

function readSmallFile(file: string, tooLarge: () => Error, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    fsOpen(file, 'r', (err, fd) => {
      if (err) return reject(err);
      const finish = (error: Error | null, result?: Buffer): void => fsClose(fd, () => (error ? reject(error) : resolve(result!)));
      fsFstat(fd, (statErr, st) => {
        if (statErr) return finish(statErr);
        if (st.isDirectory()) return finish(Object.assign(new Error(`${file} is a directory`), { code: 'EISDIR' }));
        if (st.size > maxBytes) return finish(tooLarge());
        const buf = Buffer.allocUnsafe(st.size);
        const readFrom = (offset: number): void => {
          if (offset === buf.length) return finish(null, buf);
          fsRead(fd, buf, offset, buf.length - offset, offset, (readErr, n) => {
            if (readErr) return finish(readErr);
            if (n === 0) return finish(null, buf.subarray(0, offset));
            readFrom(offset + n);
          });
        };
        readFrom(0);
      });
    });
  });
}

function translate(err: unknown, path: string): StorageError {
  if (err instanceof StorageError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return new PathNotFoundError(path, { cause: err });
  return new StorageBackendError(`${(err as Error)?.message ?? String(err)}`, path, { cause: err });
}
