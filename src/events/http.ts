import type { Dispatcher } from 'undici';
import type { NotificationEndpoint } from '../config/schema.js';
import { EVENTS_MEDIA_TYPE } from './event.js';
import type { Send } from './queue.js';
import { SIGNATURE_HEADER, signBody } from './signature.js';

export class DeliveryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeliveryError';
  }
}

/** The HTTP side of one endpoint: POST the envelope (the CNCF one), signed when the endpoint has a secret. */
export function httpSend(endpoint: NotificationEndpoint, dispatcher: Promise<Dispatcher>, userAgent: string): Send {
  const fixed: Record<string, string | string[]> = { ...endpoint.headers, 'content-type': EVENTS_MEDIA_TYPE, 'user-agent': userAgent };
  return async (batch, signal) => {
    const body = `{"events":[${batch.map((d) => d.event).join(',')}]}`;
    // Request ids are tokens without commas, so several make a plain header list.
    const headers: Record<string, string | string[]> = { ...fixed, 'x-request-id': [...new Set(batch.map((d) => d.requestId))].join(',') };
    if (endpoint.secret !== undefined) headers[SIGNATURE_HEADER.toLowerCase()] = signBody(endpoint.secret, body);
    const timeout = AbortSignal.timeout(endpoint.timeoutMs);
    let status: number;
    try {
      const res = await (await dispatcher).request({
        origin: new URL(endpoint.url).origin,
        path: pathOf(endpoint.url),
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.any([signal, timeout]),
        headersTimeout: endpoint.timeoutMs,
        bodyTimeout: endpoint.timeoutMs,
      });
      status = res.statusCode;
      await res.body.dump();
    } catch (err) {
      const reason = timeout.aborted ? `no answer within ${endpoint.timeoutMs} ms` : (err as Error).message;
      throw new DeliveryError(`${endpoint.url}: ${reason}`, { cause: err });
    }
    // The CNCF registry's rule: anything below 400 (redirects included) means the receiver has it.
    if (status >= 400) throw new DeliveryError(`${endpoint.url} answered ${status}`);
  };
}

function pathOf(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}
