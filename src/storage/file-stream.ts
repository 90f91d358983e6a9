import { close as fsClose, read as fsRead } from 'node:fs';
import { Readable } from 'node:stream';

/** Few, large reads: per-chunk costs (a thread-pool hop, a socket write, a callback) stay negligible. */
const CHUNK = 1024 * 1024;

/**
 * A byte range of an open file, read through callback `fs.read` (the promise API costs more per
 * chunk). A consumer that knows when it is done with a chunk may hand it back with `recycle()`; the
 * stream then reads into it again instead of allocating. That matters for throughput: a fresh 1 MiB
 * buffer per chunk is, for a 256 MiB blob, 256 MiB of external memory that V8 answers with a full
 * garbage collection every few chunks. Consumers that never recycle get fresh buffers, as from
 * `fs.createReadStream`, so handing the stream to any other consumer stays safe.
 */
export class FileRangeStream extends Readable {
  private position: number;
  /** Buffers the consumer handed back, ready to be read into. */
  private readonly spares: ArrayBuffer[] = [];
  /** Every buffer this stream allocated: only those may come back. */
  private readonly own = new Set<ArrayBuffer>();
  /** Sized to the range, so a small blob does not cost a whole chunk of memory. */
  private readonly chunkSize: number;
  private reading = false;
  /** destroy() during a read: the descriptor is closed when the read returns, never under it. */
  private closeAfterRead: (() => void) | undefined;

  /** Takes ownership of `fd`, closing it when the stream ends or is destroyed. `end` is exclusive. */
  constructor(
    private readonly fd: number,
    start: number,
    private readonly end: number,
  ) {
    super({ highWaterMark: CHUNK });
    this.position = start;
    this.chunkSize = Math.max(1, Math.min(CHUNK, end - start));
  }

  /** The consumer is done with `chunk` (one this stream emitted); its memory may be read into again. */
  recycle(chunk: Buffer): void {
    const memory = chunk.buffer as ArrayBuffer;
    if (this.own.has(memory) && !this.spares.includes(memory)) this.spares.push(memory);
  }

  override _read(): void {
    const length = Math.min(this.chunkSize, this.end - this.position);
    if (length <= 0) {
      this.push(null);
      return;
    }
    const buffer = Buffer.from(this.spares.pop() ?? this.allocate());
    this.reading = true;
    fsRead(this.fd, buffer, 0, length, this.position, (err, bytesRead) => {
      this.reading = false;
      if (this.closeAfterRead) return this.closeAfterRead();
      if (err) return void this.destroy(err);
      // The file is shorter than when it was opened: end where it ends, as createReadStream does.
      if (bytesRead === 0) return void this.push(null);
      this.position += bytesRead;
      this.push(buffer.subarray(0, bytesRead));
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const close = (): void => fsClose(this.fd, (closeError) => callback(error ?? closeError));
    if (this.reading) this.closeAfterRead = close;
    else close();
  }

  private allocate(): ArrayBuffer {
    const memory = Buffer.allocUnsafeSlow(this.chunkSize).buffer as ArrayBuffer;
    this.own.add(memory);
    return memory;
  }
}
