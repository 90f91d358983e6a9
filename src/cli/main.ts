import { CommanderError } from 'commander';
import { CliError, ExitCode } from './errors.js';
import { createProgram } from './program.js';
import { OciError } from '../oci/errors.js';

/** The only place that exits: every failure becomes one line on stderr and a documented exit code. */
async function main(argv: string[]): Promise<number> {
  try {
    await createProgram().parseAsync(argv);
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are "errors" in commander's exitOverride mode, with exit code 0.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (err instanceof CliError) {
      process.stderr.write(`regctl: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof OciError) {
      process.stderr.write(`regctl: ${err.code}: ${err.message}\n`);
      return ExitCode.failure;
    }
    process.stderr.write(`regctl: unexpected error: ${(err as Error)?.message ?? String(err)}\n`);
    if (process.env.REGCTL_DEBUG) process.stderr.write(`${(err as Error)?.stack}\n`);
    return ExitCode.failure;
  }
}

process.exit(await main(process.argv));
