/** Documented exit codes (README, "Exit codes"); scripts may rely on them. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  notFound: 3,
  authRefused: 4,
  connection: 5,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error meant for the user: one line, no stack, a definite exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.failure,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

/**
 * A failure whose JSON document the command has already printed (`config validate --json` on an
 * invalid file): main.ts adds only the line on stderr, so stdout stays exactly one document.
 */
export class ReportedError extends CliError {
  constructor(message: string, exitCode: ExitCode) {
    super(message, exitCode);
    this.name = 'ReportedError';
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.usage);
    this.name = 'UsageError';
  }
}
