import { TooManyRequests } from '../oci/errors.js';

/** Past this many tracked clients the oldest entries go first, so a flood of addresses cannot grow memory. */
const MAX_CLIENTS = 10_000;

interface Window {
  started: number;
  failures: number;
}

/**
 * Failed logins per client address in fixed windows: after `failures` failures within `windowMs`
 * the client is refused (TOOMANYREQUESTS with Retry-After) until its window ends, without a password
 * check, so guessing costs the guesser time and the server no bcrypt. A success resets nothing: an
 * attacker holding one valid account must not be able to clear the count for guesses at another.
 */
export class LoginLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly limit: { failures: number; windowMs: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** Throws TOOMANYREQUESTS when the client has used up its failures in the current window. */
  check(client: string): void {
    const window = this.current(client);
    if (!window || window.failures < this.limit.failures) return;
    const retryAfter = Math.max(1, Math.ceil((window.started + this.limit.windowMs - this.now()) / 1000));
    throw new TooManyRequests(`too many failed logins from this address; try again in ${retryAfter} s`, {
      headers: { 'Retry-After': String(retryAfter) },
      detail: { retryAfterSeconds: retryAfter },
    });
  }

  failed(client: string): void {
    const window = this.current(client);
    if (window) {
      window.failures++;
      return;
    }
    if (this.windows.size >= MAX_CLIENTS) this.evict();
    this.windows.set(client, { started: this.now(), failures: 1 });
  }

  /** Clients tracked now (for tests of the memory bound). */
  get size(): number {
    return this.windows.size;
  }

  private current(client: string): Window | undefined {
    const window = this.windows.get(client);
    if (window && window.started + this.limit.windowMs <= this.now()) {
      this.windows.delete(client);
      return undefined;
    }
    return window;
  }

  /**
   * Windows are inserted as they start, and a Map keeps insertion order, so the expired ones are at
   * the front: drop those, then the oldest if still full. Amortised O(1) under a flood of addresses.
   */
  private evict(): void {
    const now = this.now();
    for (const [client, window] of this.windows) {
      if (window.started + this.limit.windowMs > now) break;
      this.windows.delete(client);
    }
    if (this.windows.size >= MAX_CLIENTS) this.windows.delete(this.windows.keys().next().value!);
  }
}
