import type { IncomingMessage } from 'node:http';
import { OciError, Unavailable } from '../../oci/errors.js';
import type { GcOptions } from '../../registry/gc/collect.js';
import { GcBusyError } from '../../registry/gc/coordinator.js';
import { jsonReply } from '../respond.js';
import { badRequest, readSmallBody } from './small-body.js';
import type { Handler } from '../types.js';

/** The body of POST /admin/gc; every field optional, with the CLI's defaults. */
export interface GcRequest {
  dryRun?: boolean;
  deleteUntagged?: boolean;
  graceMs?: number;
  uploadsOlderThanMs?: number;
  explain?: string[];
}

export const GC_DEFAULTS = { graceMs: 3_600_000, uploadsOlderThanMs: 86_400_000 } as const;

/** POST /admin/gc: a collection inside the running server, coordinated with the pushes it takes. */
export const adminGc: Handler = async ({ body, registry, readOnly }) => {
  const request = parseGcRequest(await readJson(body));
  if (readOnly && !request.dryRun) throw new OciError('UNSUPPORTED', 'the registry is in read-only mode; only a dry run is possible');
  try {
    return jsonReply(200, await registry.collectGarbage(request));
  } catch (err) {
    if (err instanceof GcBusyError) throw new Unavailable(err.message, { detail: { retry: 'when the running collection ends' } });
    throw err;
  }
};

function parseGcRequest(value: unknown): GcOptions {
  const input = (value ?? {}) as Record<string, unknown>;
  const bool = (key: string): boolean => {
    if (input[key] === undefined) return false;
    if (typeof input[key] !== 'boolean') throw badRequest(`${key} must be true or false`);
    return input[key] as boolean;
  };
  const ms = (key: string, fallback: number): number => {
    if (input[key] === undefined) return fallback;
    const n = input[key];
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw badRequest(`${key} must be a non-negative number of milliseconds`);
    return n;
  };
  const explain = input.explain ?? [];
  if (!Array.isArray(explain) || !explain.every((d) => typeof d === 'string')) throw badRequest('explain must be a list of digests');
  return {
    dryRun: bool('dryRun'),
    deleteUntagged: bool('deleteUntagged'),
    graceMs: ms('graceMs', GC_DEFAULTS.graceMs),
    uploadsOlderThanMs: ms('uploadsOlderThanMs', GC_DEFAULTS.uploadsOlderThanMs),
    explain: explain as string[],
  };
}

async function readJson(body: IncomingMessage): Promise<unknown> {
  const text = await readSmallBody(body);
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest('request body is not JSON');
  }
}
