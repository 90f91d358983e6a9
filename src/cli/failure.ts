import { AuthError, ClientError, ConnectionError, TlsError } from '../client/errors.js';
import { OciError } from '../oci/errors.js';
import { CliError, ExitCode } from './errors.js';

const NOT_FOUND_CODES = new Set(['MANIFEST_UNKNOWN', 'BLOB_UNKNOWN', 'NAME_UNKNOWN', 'NOT_FOUND']);

/** Every failure as one line for people and a documented exit code (README, "Exit codes"). */
export function describeFailure(err: unknown): { message: string; exitCode: ExitCode; code?: string } {
  if (err instanceof CliError) return { message: err.message, exitCode: err.exitCode };
  if (err instanceof OciError) {
    const exitCode = NOT_FOUND_CODES.has(err.code)
      ? ExitCode.notFound
      : err.code === 'UNAUTHORIZED' || err.code === 'DENIED'
        ? ExitCode.authRefused
        : ExitCode.failure;
    return { message: `${err.message} (${err.code})`, exitCode, code: err.code };
  }
  if (err instanceof AuthError) return { message: err.message, exitCode: ExitCode.authRefused };
  if (err instanceof ConnectionError || err instanceof TlsError) return { message: err.message, exitCode: ExitCode.connection };
  if (err instanceof ClientError) return { message: err.message, exitCode: ExitCode.failure };
  return { message: `unexpected error: ${(err as Error)?.message ?? String(err)}`, exitCode: ExitCode.failure };
}
