import { readFile, stat } from 'node:fs/promises';
import type { Logger } from '../log/logger.js';

/** What a watched file turned into, with how it came to be (for the caller's log lines). */
export interface Reload<T> {
  value: T;
  /** The first load, at start-up. */
  first: boolean;
  /** The file does not exist (the parser got `undefined`). */
  missing: boolean;
}

/**
 * A small config file (htpasswd, access rules) that is re-read whenever it changes, checked with one
 * stat per request and shared by concurrent requests, so edits take effect without a restart.
 * A reload that fails (unreadable, or the parser throws) is logged once per change of the file and
 * the previous contents stay in force: an editor's half-saved file must not lock everybody out.
 */
export class WatchedFile<T> {
  private current!: T;
  private stamp: string | undefined;
  private refreshing: Promise<void> | undefined;

  private constructor(
    readonly file: string,
    private readonly parse: (text: string | undefined) => T,
    private readonly loaded: (reload: Reload<T>) => void,
    private readonly logger: Logger,
  ) {}

  /** Loads the file now; a first load that fails throws (start-up should stop with the reason). */
  static async open<T>(file: string, parse: (text: string | undefined) => T, loaded: (reload: Reload<T>) => void, logger: Logger): Promise<WatchedFile<T>> {
    const watched = new WatchedFile(file, parse, loaded, logger);
    await watched.refresh();
    return watched;
  }

  /** The contents as of now (re-read first when the file changed). */
  async value(): Promise<T> {
    await (this.refreshing ??= this.refresh()
      .catch((err: Error) => this.logger.error(`cannot reload ${this.file}; the previous contents stay in force`, { error: err.message }))
      .finally(() => (this.refreshing = undefined)));
    return this.current;
  }

  private async refresh(): Promise<void> {
    const info = await stat(this.file).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    const stamp = info ? `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}` : 'missing';
    if (stamp === this.stamp) return;
    const first = this.stamp === undefined;
    // Taken before parsing, so a broken file is reported once rather than on every request.
    this.stamp = stamp;
    const text = info ? await readFile(this.file, 'utf8') : undefined;
    this.current = this.parse(text);
    this.loaded({ value: this.current, first, missing: !info });
  }
}
