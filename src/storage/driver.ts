import type { Readable, Writable } from 'node:stream';

/**
 * The seam between the registry and where bytes live, after the CNCF registry's driver interface.
 * Paths are absolute within the driver ("/docker/registry/v2/…") and come only from `paths.ts`.
 * Drivers throw only the StorageError subclasses below, never raw ENOENT or SDK errors.
 */
export interface StorageDriver {
  readonly name: string;
  /** Reads a small object whole; refuses anything larger than `maxBytes` (default 4 MiB). */
  getContent(path: string, maxBytes?: number): Promise<Buffer>;
  /** Writes a small object atomically: readers see the old content or the new, never a mix. */
  putContent(path: string, content: Buffer | string): Promise<void>;
  /**
   * A stream of the object from `offset` to `end` (inclusive), both optional. An end past the object
   * is cut to its last byte; an offset past the end, or an end before the offset, is InvalidOffsetError.
   */
  reader(path: string, range?: { offset?: number; end?: number }): Promise<Readable>;
  /**
   * A writer for a large object. Without `append`, nothing is visible at `path` before `commit()`.
   * With `append`, bytes are added to what is there (for resumable uploads); `cancel()` rolls back
   * to the size the object had when the writer opened. An appended object is guaranteed durable only
   * once it is moved (drivers may defer flushing until then).
   */
  writer(path: string, options?: { append?: boolean }): Promise<FileWriter>;
  stat(path: string): Promise<FileInfo>;
  /** Names of the direct children of a directory, sorted. */
  list(path: string): Promise<string[]>;
  /** Atomically and durably moves an object, replacing any object at `destPath`. */
  move(sourcePath: string, destPath: string): Promise<void>;
  /**
   * Removes an object or a whole directory tree. Whether a directory emptied this way remains is up
   * to the driver (a filesystem keeps it, memory and object stores do not), so stores delete a
   * link's directory rather than the link file, and never read meaning into an empty directory.
   */
  delete(path: string): Promise<void>;
  /** Visits everything below `path`, depth first in sorted order; return 'skip' to not descend. */
  walk(path: string, visit: (entry: WalkEntry) => void | 'skip' | Promise<void | 'skip'>): Promise<void>;
  /**
   * Optional capability: a time-limited URL from which a client can GET the object (and ranges of it)
   * straight from the backend, e.g. an S3 presigned URL. A driver has it only when configured to hand
   * such URLs out (`storage.s3.redirect`); blob GETs then answer 307 to it instead of streaming.
   * It does not check that the object exists. Wrappers of a driver must pass it through.
   */
  urlFor?(path: string, options?: { expiresInSeconds?: number }): Promise<string>;
  /**
   * Optional capability: the directories below `path` that hold a directory named one of `markers`
   * (names starting with "_"), relative to `path` and sorted, never looking inside a directory whose
   * name starts with "_". The same answer as the walk in registry/catalog.ts, which an object store
   * gives in a few delimiter listings instead of one per directory. PathNotFoundError when nothing
   * is below `path`. Wrappers of a driver must pass it through.
   */
  findDirsWith?(path: string, markers: readonly string[]): Promise<string[]>;
}

export interface FileWriter {
  /** Write the object's bytes here, then call commit() (or cancel()) once the stream has finished. */
  readonly stream: Writable;
  /** Bytes in the object so far, including what an appended object already had. */
  size(): number;
  commit(): Promise<void>;
  cancel(): Promise<void>;
}

export interface FileInfo {
  path: string;
  size: number;
  modTime: Date;
  isDir: boolean;
}

export interface WalkEntry {
  path: string;
  isDir: boolean;
}

export class StorageError extends Error {
  constructor(
    message: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class PathNotFoundError extends StorageError {
  constructor(path: string, options?: { cause?: unknown }) {
    super(`path not found: ${path}`, path, options);
  }
}

export class InvalidPathError extends StorageError {
  constructor(path: string, reason = 'invalid path') {
    super(`${reason}: ${JSON.stringify(path)}`, path);
  }
}

export class InvalidOffsetError extends StorageError {
  constructor(
    path: string,
    readonly offset: number,
  ) {
    super(`invalid offset ${offset} for ${path}`, path);
  }
}

export class ContentTooLargeError extends StorageError {
  constructor(
    path: string,
    readonly maxBytes: number,
  ) {
    super(`${path} is larger than ${maxBytes} bytes`, path);
  }
}

/** Any other backend failure (permissions, disk full, I/O error), with the cause kept. */
export class StorageBackendError extends StorageError {}

const PATH_PATTERN = /^(\/[A-Za-z0-9._-]+)+$/;

/** Every driver checks paths the same way: absolute, no empty, "." or ".." components. */
export function checkPath(path: string): string {
  if (!PATH_PATTERN.test(path)) throw new InvalidPathError(path);
  for (const part of path.split('/')) {
    if (part === '.' || part === '..') throw new InvalidPathError(path, 'path escapes its root');
  }
  return path;
}

export const DEFAULT_MAX_CONTENT = 4 * 1024 * 1024;

/** For `.catch(ignoreNotFound)`: what is already gone is fine, any other failure is not. */
export function ignoreNotFound(err: unknown): undefined {
  if (err instanceof PathNotFoundError) return undefined;
  throw err;
}
