/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * A readers-writer lock for promises: many shared holders at once, or one exclusive holder.
 * Waiting exclusive requests go first, so a stream of shared holders cannot starve them.
 */
export class RwLock {
  private readers = 0;
  private writer = false;
  private readonly waitingWriters: (() => void)[] = [];
  private readonly waitingReaders: (() => void)[] = [];

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    if (this.writer || this.waitingWriters.length > 0) await new Promise<void>((r) => this.waitingReaders.push(r));
    else this.readers++;
    try {
      return await fn();
    } finally {
      this.readers--;
      this.wake();
    }
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.writer || this.readers > 0) await new Promise<void>((r) => this.waitingWriters.push(r));
    else this.writer = true;
    try {
      return await fn();
    } finally {
      this.writer = false;
      this.wake();
    }
  }

  /** Hands the lock on: to the next writer if no reader holds it, else to every waiting reader. */
  private wake(): void {
    if (this.writer || this.readers > 0) return;
    const writer = this.waitingWriters.shift();
    if (writer) {
      this.writer = true;
      writer();
      return;
    }
    const readers = this.waitingReaders.splice(0);
    this.readers += readers.length;
    for (const reader of readers) reader();
  }
}
