import { OciError, UnknownError } from '../oci/errors.js';
import { InvalidPathError, StorageError } from '../storage/driver.js';
import { NameInvalid } from '../oci/errors.js';
import type { Reply } from './types.js';

/** Every error a client can see, as the spec's JSON error body with its status. */
export function errorReply(err: unknown): { reply: Reply; internal: boolean } {
  const error = toOciError(err);
  const internal = !(err instanceof OciError) && !(err instanceof InvalidPathError);
  const headers: Record<string, string | number> = { 'Content-Type': 'application/json', ...error.headers };
  if (error.status === 416 && typeof (error.detail as { size?: unknown })?.size === 'number') {
    headers['Content-Range'] = `bytes */${(error.detail as { size: number }).size}`;
  }
  return { reply: { status: error.status, headers, body: JSON.stringify({ errors: [error.toJSON()] }) }, internal };
}

function toOciError(err: unknown): OciError {
  if (err instanceof OciError) return err;
  if (err instanceof InvalidPathError) return new NameInvalid(err.message);
  if (err instanceof StorageError) return new UnknownError('storage error', { cause: err });
  return new UnknownError('internal error', { cause: err });
}

export function jsonReply(status: number, value: unknown, headers: Record<string, string | number> = {}): Reply {
  return { status, headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(value) };
}
