import { CommanderError } from 'commander';
import { processDeps } from './deps.js';
import { ExitCode, ReportedError } from './errors.js';
import { describeFailure } from './failure.js';
import { createProgram } from './program.js';

/** The only place that exits. */
async function main(argv: string[]): Promise<number> {
  // `--json` promises one JSON document on stdout, failures included; words after `--` are operands.
  const end = argv.indexOf('--');
  const json = (end === -1 ? argv : argv.slice(0, end)).includes('--json');
  const failed = (message: string, exitCode: ExitCode, code?: string): number => {
    if (json) process.stdout.write(`${JSON.stringify({ error: { message, ...(code ? { code } : {}), exitCode } }, null, 2)}\n`);
    return exitCode;
  };
  try {
    await (await createProgram(processDeps(), argv)).parseAsync(argv);
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are "errors" in commander's exitOverride mode, with exit code 0.
      return err.exitCode === 0 ? ExitCode.ok : failed(err.message.replace(/^error: /, ''), ExitCode.usage);
    }
    const { message, exitCode, code } = describeFailure(err);
    process.stderr.write(`regctl: ${message}\n`);
    if (process.env.REGCTL_DEBUG) process.stderr.write(`${(err as Error)?.stack}\n`);
    return err instanceof ReportedError ? exitCode : failed(message, exitCode, code);
  }
}

process.exit(await main(process.argv));
