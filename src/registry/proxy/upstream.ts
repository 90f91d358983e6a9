import type { IncomingHttpHeaders } from 'node:http';
import { Agent, DecoratorHandler, type Dispatcher } from 'undici';
import { RegistryClient } from '../../client/client.js';
import type { ProxyUpstream } from '../../config/schema.js';
import { OciError, TooManyRequests, Unavailable } from '../../oci/errors.js';
import type { RequestScope } from '../../server/request-scope.js';
import { parseRemoteUrl } from './router.js';

/** The upstream could not answer (down, refused our credentials, broke): a cached copy may stand in. */
export class UpstreamUnavailable extends Unavailable {}

/** The upstream answered 429: a cached copy may stand in; otherwise the client waits as told. */
export class UpstreamThrottled extends TooManyRequests {}

export function isUpstreamFailure(err: unknown): err is UpstreamUnavailable | UpstreamThrottled {
  return err instanceof UpstreamUnavailable || err instanceof UpstreamThrottled;
}

export interface UpstreamDeps {
  scope: RequestScope;
  /** Milliseconds since the epoch. */
  now: () => number;
  timeoutMs?: number;
}

/** When a 429 carries no Retry-After: long enough to stop hammering, short enough to recover. */
const DEFAULT_THROTTLE_MS = 60_000;

/**
 * One upstream registry: a RegistryClient (auth challenges, digest verification) whose requests carry
 * the current request's X-Request-Id, and which remembers a 429's Retry-After so that nothing is sent
 * upstream again before then — Docker Hub counts refused pulls too.
 */
export class Upstream {
  readonly prefix: string;
  readonly remoteUrl: string;
  readonly ttlMs: number;
  readonly cacheTtlMs: number;
  readonly client: RegistryClient;
  private readonly agent: Agent;
  private throttledUntil = 0;
  /** Retry-After of the latest 429, seen by the dispatcher before the client turns it into an error. */
  private retryAfterMs: number | undefined;

  constructor(
    config: ProxyUpstream,
    private readonly deps: UpstreamDeps,
  ) {
    this.prefix = config.prefix;
    this.remoteUrl = config.remoteUrl;
    this.ttlMs = config.ttlMs;
    this.cacheTtlMs = config.cacheTtlMs ?? 7 * 24 * 3_600_000;
    const { registry, scheme } = parseRemoteUrl(config);
    this.agent = new Agent({ connections: 16, keepAliveTimeout: 30_000 });
    const credentials = config.username !== undefined ? { username: config.username, password: config.password ?? '' } : undefined;
    this.client = new RegistryClient({
      registry,
      scheme,
      credentials: async () => credentials,
      timeoutMs: deps.timeoutMs,
      // A proxy answers a waiting client: it reports a 429 or an outage at once instead of sleeping on it.
      retries: 0,
      userAgent: 'regctl-proxy',
      dispatcher: this.agent.compose(this.observe()),
    });
  }

  /** Runs one upstream call, turning its failures into what the proxy's caller can act on. */
  async call<T>(fn: (client: RegistryClient) => Promise<T>): Promise<T> {
    const wait = this.throttledUntil - this.deps.now();
    if (wait > 0) throw this.throttled(wait);
    try {
      return await fn(this.client);
    } catch (err) {
      if (err instanceof OciError && err.status === 404) throw err;
      if (err instanceof OciError && err.status === 429) {
        this.throttledUntil = this.deps.now() + (this.retryAfterMs ?? DEFAULT_THROTTLE_MS);
        this.retryAfterMs = undefined;
        throw this.throttled(this.throttledUntil - this.deps.now());
      }
      throw new UpstreamUnavailable(`upstream ${this.remoteUrl} is unavailable: ${(err as Error).message}`, { cause: err });
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  private throttled(waitMs: number): UpstreamThrottled {
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    return new UpstreamThrottled(`upstream ${this.remoteUrl} is rate-limiting this registry; retry in ${seconds} s`, {
      headers: { 'Retry-After': String(seconds) },
      detail: { upstream: this.remoteUrl, retryAfterSeconds: seconds },
    });
  }

  /** Adds X-Request-Id to every request and notes a 429's Retry-After before the body is read. */
  private observe(): Dispatcher.DispatcherComposeInterceptor {
    return (dispatch) => (options, handler) => {
      const id = this.deps.scope.current()?.id;
      const headers = id ? withHeader(options.headers, 'x-request-id', id) : options.headers;
      const inner = new DecoratorHandler(handler) as Dispatcher.DispatchHandler;
      const observed: Dispatcher.DispatchHandler = {
        onRequestStart: (controller, context) => inner.onRequestStart?.(controller, context),
        onRequestUpgrade: (controller, status, h, socket) => inner.onRequestUpgrade?.(controller, status, h, socket),
        onResponseStart: (controller, status, h, message) => {
          if (status === 429) this.retryAfterMs = retryAfterMs(h, this.deps.now());
          return inner.onResponseStart?.(controller, status, h, message);
        },
        onResponseData: (controller, chunk) => inner.onResponseData?.(controller, chunk),
        onResponseEnd: (controller, trailers) => inner.onResponseEnd?.(controller, trailers),
        onResponseError: (controller, error) => inner.onResponseError?.(controller, error),
      };
      return dispatch({ ...options, headers }, observed);
    };
  }
}

/** Retry-After in seconds or as an HTTP date. */
function retryAfterMs(headers: IncomingHttpHeaders, now: number): number | undefined {
  const raw = headers['retry-after'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function withHeader(headers: Dispatcher.DispatchOptions['headers'], name: string, value: string): Dispatcher.DispatchOptions['headers'] {
  if (Array.isArray(headers)) return [...(headers as string[]), name, value];
  return { ...(headers as Record<string, string> | null | undefined), [name]: value };
}
