import { RwLock } from '../../util/concurrency.js';

/** Told when a collection ends, with how long it ran (the metrics count runs). */
export type GcRunListener = (durationMs: number) => void;

/**
 * How garbage collection stays safe while the registry takes pushes (README, "Garbage collection").
 *
 * Every operation that makes content reachable — linking a finished upload or a mount into a
 * repository, putting a manifest — runs as a shared holder of one lock and first `protect()`s the
 * digests it is about to rely on. A collection run:
 *   1. starts by taking the lock exclusively for an instant, so every such operation already in
 *      flight has finished and is visible to the mark phase, and from then on records protections;
 *   2. marks from tags and revisions without the lock (pushes carry on);
 *   3. deletes in small exclusive batches, re-checking each digest against the protections first.
 * So a manifest PUT either finished before a batch (its digests are protected or were marked) or
 * starts after it (and finds a deleted blob missing, answering MANIFEST_BLOB_UNKNOWN: the push does
 * not complete, nothing completed is lost). Blobs of pushes still in progress, not yet referenced by
 * any manifest, are kept by the grace period: nothing written or linked within it is deleted.
 */
export class GcCoordinator {
  private readonly lock = new RwLock();
  private protectedDigests: Set<string> | undefined;
  private running = false;
  private startedAt = 0;

  constructor(private readonly onRun?: GcRunListener) {}

  /** Runs a store operation that makes `digests` reachable. */
  async reaching<T>(digests: readonly string[], fn: () => Promise<T>): Promise<T> {
    return this.lock.shared(async () => {
      if (this.protectedDigests) for (const d of digests) this.protectedDigests.add(d);
      return fn();
    });
  }

  /** Begins a run; only one runs at a time. */
  async begin(): Promise<void> {
    if (this.running) throw new GcBusyError();
    this.running = true;
    this.startedAt = performance.now();
    await this.lock.exclusive(async () => {
      this.protectedDigests = new Set();
    });
  }

  end(): void {
    this.protectedDigests = undefined;
    this.running = false;
    this.onRun?.(performance.now() - this.startedAt);
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Deletes what `fn` decides, in one exclusive batch, skipping digests protected since the run began. */
  async sweep<T>(fn: (isProtected: (digest: string) => boolean) => Promise<T>): Promise<T> {
    return this.lock.exclusive(() => fn((digest) => this.protectedDigests?.has(digest) ?? false));
  }
}

export class GcBusyError extends Error {
  constructor() {
    super('a garbage collection is already running on this registry');
    this.name = 'GcBusyError';
  }
}
