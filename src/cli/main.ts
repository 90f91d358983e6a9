import { CommanderError } from 'commander';
import { processDeps } from './deps.js';
import { ExitCode } from './errors.js';
import { describeFailure } from './failure.js';
import { createProgram } from './program.js';

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
