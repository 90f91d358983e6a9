import { CommanderError } from 'commander';
import { AuthError, ClientError, ConnectionError, TlsError } from '../client/errors.js';
import { OciError } from '../oci/errors.js';
import { processDeps } from './deps.js';
import { CliError, ExitCode } from './errors.js';
import { createProgram } from './program.js';

const NOT_FOUND_CODES = new Set(['MANIFEST_UNKNOWN', 'BLOB_UNKNOWN', 'NAME_UNKNOWN', 'NOT_FOUND']);

/** Every failure as one line for people and a documented exit code (README, "Exit codes"). */
export function describeFailure(err: unknown): { message: string; exitCode: ExitCode } {
  if (err instanceof CliError) return { message: err.message, exitCode: err.exitCode };
  if (err instanceof OciError) {
    const exitCode = NOT_FOUND_CODES.has(err.code)
      ? ExitCode.notFound
      : err.code === 'UNAUTHORIZED' || err.code === 'DENIED'
        ? ExitCode.authRefused
        : ExitCode.failure;
    return { message: `${err.message} (${err.code})`, exitCode };
  }
  if (err instanceof AuthError) return { message: err.message, exitCode: ExitCode.authRefused };
  if (err instanceof ConnectionError || err instanceof TlsError) return { message: err.message, exitCode: ExitCode.connection };
  if (err instanceof ClientError) return { message: err.message, exitCode: ExitCode.failure };
  return { message: `unexpected error: ${(err as Error)?.message ?? String(err)}`, exitCode: ExitCode.failure };
}

/** The only place that exits. */
async function main(argv: string[]): Promise<number> {
  try {
    await createProgram(processDeps()).parseAsync(argv);
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are "errors" in commander's exitOverride mode, with exit code 0.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    const { message, exitCode } = describeFailure(err);
    process.stderr.write(`regctl: ${message}\n`);
    if (process.env.REGCTL_DEBUG) process.stderr.write(`${(err as Error)?.stack}\n`);
    return exitCode;
  }
}

process.exit(await main(process.argv));
