import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** Who asked, as far as anything below the handler needs to know (events, upstream calls, logs). */
export interface RequestInfo {
  /** From the client's `X-Request-Id` when it sent a sane one, else generated. */
  id: string;
  method: string;
  remote?: string;
  /** The authenticated user; absent for anonymous requests. */
  user?: string;
  host?: string;
  userAgent?: string;
}

/**
 * Carries the current request across the async calls of one handler, so store wrappers (events, the
 * pull-through cache) can name the request without every store method taking it as a parameter.
 * One per server, passed in; nothing global.
 */
export class RequestScope {
  private readonly storage = new AsyncLocalStorage<RequestInfo>();

  run<T>(info: RequestInfo, fn: () => T): T {
    return this.storage.run(info, fn);
  }

  current(): RequestInfo | undefined {
    return this.storage.getStore();
  }
}

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && SANE_REQUEST_ID.test(value) ? value : randomUUID();
}
