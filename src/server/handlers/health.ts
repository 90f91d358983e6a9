import { setTimeout as sleep } from 'node:timers/promises';
import { PathNotFoundError, type StorageDriver } from '../../storage/driver.js';
import { ROOT } from '../../storage/paths.js';
import { jsonReply } from '../respond.js';
import type { Handler, Reply } from '../types.js';

export type Health = { ok: true } | { ok: false; reason: string };

/** Long enough for a remote bucket, short enough for a load balancer's check interval. */
const PROBE_TIMEOUT_MS = 2_000;

/**
 * Whether storage answers: one stat of the layout's root. "Not found" is an answer (an empty store
 * is healthy); an error or silence past the bound is not.
 */
export async function checkHealth(driver: StorageDriver, timeoutMs = PROBE_TIMEOUT_MS): Promise<Health> {
  const abort = new AbortController();
  const probe = driver.stat(ROOT).then(
    (): Health => ({ ok: true }),
    (err: unknown): Health => (err instanceof PathNotFoundError ? { ok: true } : { ok: false, reason: `storage: ${(err as Error).message}` }),
  );
  const timeout = sleep(timeoutMs, undefined, { ref: false, signal: abort.signal }).then(
    (): Health => ({ ok: false, reason: `storage did not answer within ${timeoutMs} ms` }),
    () => probe,
  );
  try {
    return await Promise.race([probe, timeout]);
  } finally {
    abort.abort();
  }
}

export async function healthReply(driver: StorageDriver): Promise<Reply> {
  const health = await checkHealth(driver);
  const noStore = { 'Cache-Control': 'no-store' };
  return health.ok ? jsonReply(200, { status: 'ok' }, noStore) : jsonReply(503, { status: 'unavailable', reason: health.reason }, noStore);
}

/** GET /healthz: for load balancers and orchestrators, so it asks for no credentials. */
export const healthz: Handler = ({ registry }) => healthReply(registry.driver);
