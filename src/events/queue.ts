import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log/logger.js';

/** One event on its way to one endpoint. */
export interface Delivery {
  /** The event, serialized once for every endpoint. */
  event: string;
  /** Of the request that caused the event; sent along so logs on both sides join up. */
  requestId: string;
  /** For the log line when the delivery is dropped. */
  describe: Record<string, string | undefined>;
}

/** Sends deliveries in one envelope; throws when the receiver did not take it (error status, timeout, refused). */
export type Send = (batch: readonly Delivery[], signal: AbortSignal) => Promise<void>;

/** Told of every outcome, per endpoint (the metrics implement it). */
export interface DeliveryStats {
  delivered(endpoint: string, count: number): void;
  failed(endpoint: string): void;
  dropped(endpoint: string, count: number): void;
  queued(endpoint: string, length: number): void;
}

export interface QueueOptions {
  name: string;
  /** Deliveries waiting at most; the oldest waiting one is dropped for a new one. */
  limit: number;
  /** Events sent together at most, when a backlog has built up. */
  maxBatch: number;
  /** Failures in a row before the endpoint backs off. */
  threshold: number;
  /** First back-off pause; it doubles with each further failure up to `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
  send: Send;
  logger: Logger;
  stats?: DeliveryStats;
}

/** Below the threshold a failure is retried after this short pause (a blip, not an outage). */
const RETRY_PAUSE_MS = 50;

/**
 * One endpoint's deliveries, sent in order, one request at a time (as the CNCF registry does), each
 * retried until it is taken. Events that queued up while a request was out go together in the next
 * envelope, so a busy registry is not held to one event per round trip. A receiver that is down only
 * makes the queue grow up to its limit; nothing here ever waits on, or fails, the request that
 * produced the event.
 */
export class DeliveryQueue {
  private readonly waiting: Delivery[] = [];
  /** The batch being sent (and retried). */
  private current: Delivery[] | undefined;
  private worker: Promise<void> | undefined;
  private failures = 0;
  private closed = false;
  private readonly abort = new AbortController();

  constructor(private readonly options: QueueOptions) {}

  get length(): number {
    return this.waiting.length + (this.current?.length ?? 0);
  }

  push(delivery: Delivery): void {
    if (this.closed) {
      this.drop([delivery], 'the notifier is closed');
      return;
    }
    this.waiting.push(delivery);
    if (this.waiting.length > this.options.limit) this.drop(this.waiting.splice(0, this.waiting.length - this.options.limit), 'the queue is full');
    this.options.stats?.queued(this.options.name, this.length);
    this.worker ??= this.run().finally(() => (this.worker = undefined));
  }

  /**
   * Stops taking deliveries, sends what it can within `timeoutMs`, then drops (logs, counts) the rest.
   * An endpoint that is backing off is not waited for: shutdown would only sit out its pauses.
   */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    if (this.worker && !this.backingOff) {
      const timer = sleep(timeoutMs, undefined, { ref: false, signal: this.abort.signal }).catch(() => undefined);
      await Promise.race([this.worker, timer]);
    }
    this.abort.abort();
    await this.worker;
    const left = [...(this.current ?? []), ...this.waiting.splice(0)];
    this.current = undefined;
    if (left.length > 0) this.drop(left, 'not delivered before shutdown');
    this.options.stats?.queued(this.options.name, 0);
  }

  private async run(): Promise<void> {
    const { name, logger, stats } = this.options;
    while (!this.abort.signal.aborted && (this.current ??= this.take())) {
      try {
        await this.options.send(this.current, this.abort.signal);
      } catch (err) {
        if (this.abort.signal.aborted) return;
        this.failures++;
        stats?.failed(name);
        const backingOff = this.backingOff;
        if (backingOff && this.closed) return;
        if (this.failures === this.options.threshold) {
          logger.warn('webhook endpoint failing; backing off', { endpoint: name, failures: this.failures, error: (err as Error).message });
        } else if (!backingOff) {
          logger.debug('webhook delivery failed; retrying', { endpoint: name, error: (err as Error).message });
        }
        const pause = backingOff ? this.backoff() : RETRY_PAUSE_MS;
        await sleep(pause, undefined, { ref: false, signal: this.abort.signal }).catch(() => undefined);
        continue;
      }
      if (this.backingOff) logger.info('webhook endpoint recovered', { endpoint: name, failures: this.failures });
      this.failures = 0;
      stats?.delivered(name, this.current.length);
      this.current = undefined;
      stats?.queued(name, this.length);
    }
  }

  private take(): Delivery[] | undefined {
    return this.waiting.length > 0 ? this.waiting.splice(0, this.options.maxBatch) : undefined;
  }

  private get backingOff(): boolean {
    return this.failures >= this.options.threshold;
  }

  private backoff(): number {
    const { backoffMs, maxBackoffMs, threshold } = this.options;
    const doublings = Math.min(this.failures - threshold, 30);
    return Math.min(backoffMs * 2 ** doublings, Math.max(maxBackoffMs, backoffMs));
  }

  private drop(deliveries: Delivery[], reason: string): void {
    for (const d of deliveries) this.options.logger.warn('webhook event dropped', { endpoint: this.options.name, reason, requestId: d.requestId, ...d.describe });
    this.options.stats?.dropped(this.options.name, deliveries.length);
  }
}
