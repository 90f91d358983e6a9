import { PassThrough, type Readable, type Writable } from 'node:stream';
import type { BlobStream } from '../../client/client.js';
import type { BlobInfo } from '../blobs.js';

/** Per output: enough to ride out a slow write without pausing the upstream at every chunk. */
const BUFFER_BYTES = 1024 * 1024;

/**
 * One upstream GET of a blob, copied as it arrives into the blob store and to every client that
 * joined before the first byte. The store's copy sets the pace together with the clients' (no blob
 * is held in memory); a client that goes away is dropped without disturbing the others or the store.
 * The latest chunk is held back until the upstream stream has ended verified, so a blob whose digest
 * does not match reaches no client whole (their connections are cut) and is not stored; clients get
 * it once the store has committed, so a finished pull is always followed by a cache hit.
 */
export class BlobFill {
  /** The blob's size once the upstream has answered. */
  readonly size: Promise<number>;
  /** Settles when the blob is committed to the store (or the fill failed). */
  readonly done: Promise<BlobInfo>;
  private readonly clients = new Set<PassThrough>();
  /** Outputs whose buffers are full; the upstream is paused while any is. */
  private readonly blocked = new Set<Writable>();
  private source: Readable | undefined;
  private flowing = false;

  constructor(open: () => Promise<BlobStream>, store: (body: Readable, size: number | undefined) => Promise<BlobInfo>) {
    const opened = open();
    this.size = opened.then((upstream) => upstream.size);
    this.done = opened.then(
      (upstream) => this.copy(upstream, store),
      (err: unknown) => {
        for (const client of this.clients) client.destroy(err as Error);
        throw err;
      },
    );
    // Callers await `size` and `done` as they need them; a failure nobody awaited is not unhandled.
    this.size.catch(() => undefined);
    this.done.catch(() => undefined);
  }

  /**
   * A stream of the whole blob for one more client, or undefined once bytes have gone by (that client
   * waits for `done` and reads the stored copy).
   */
  attach(): Readable | undefined {
    if (this.flowing) return undefined;
    const client = new PassThrough({ highWaterMark: BUFFER_BYTES });
    this.clients.add(client);
    // A client that goes away stops counting: it no longer holds the upstream back.
    client.once('close', () => {
      this.clients.delete(client);
      this.unblock(client);
    });
    return client;
  }

  private copy(upstream: BlobStream, store: (body: Readable, size: number | undefined) => Promise<BlobInfo>): Promise<BlobInfo> {
    const toStore = new PassThrough({ highWaterMark: BUFFER_BYTES });
    // The store may still be opening its writer when the upstream fails; its promise reports the failure.
    toStore.on('error', () => undefined);
    const stored = store(toStore, upstream.size >= 0 ? upstream.size : undefined);
    // A store that fails (disk full) must not stall the clients still reading.
    stored.catch(() => {
      toStore.destroy();
      this.unblock(toStore);
    });
    const source = (this.source = upstream.stream);
    let held: Buffer | undefined;
    const outputs = (): Writable[] => [toStore, ...this.clients];
    const write = (chunk: Buffer): void => {
      for (const out of outputs()) {
        if (out.destroyed || out.write(chunk) || this.blocked.has(out)) continue;
        this.blocked.add(out);
        out.once('drain', () => this.unblock(out));
      }
      if (this.blocked.size > 0) source.pause();
    };
    source.on('data', (chunk: Buffer) => {
      this.flowing = true;
      if (held) write(held);
      held = chunk;
    });
    source.once('end', () => {
      // Verified: the store gets the rest at once; clients get their last chunk once it is stored, so
      // whoever has the whole blob can count on the next asker finding it in the cache.
      if (held) toStore.end(held);
      else toStore.end();
      void stored.catch(() => undefined).finally(() => {
        for (const client of this.clients) if (!client.destroyed) client.end(held);
      });
    });
    source.on('error', (err) => {
      toStore.destroy(err);
      for (const client of this.clients) client.destroy(err);
    });
    return stored;
  }

  private unblock(out: Writable): void {
    if (this.blocked.delete(out) && this.blocked.size === 0) this.source?.resume();
  }
}
