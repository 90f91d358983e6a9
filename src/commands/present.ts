import type { CliDeps } from '../cli/deps.js';
import { createOutput, type Output } from '../cli/output.js';

export function outputFor(flags: { json?: boolean }, deps: CliDeps): Output {
  return createOutput({ json: Boolean(flags.json), stdout: deps.stdout, stderr: deps.stderr });
}

/**
 * Runs `work` under a spinner on stderr. Only a person at a terminal sees it: with --json or a piped
 * stderr nothing is drawn, so scripts and logs stay clean.
 */
export async function withSpinner<T>(text: string, flags: { json?: boolean }, deps: CliDeps, work: () => Promise<T>): Promise<T> {
  if (flags.json || !deps.stderr.isTTY) return work();
  // Keeping stdin untouched matters when a prompt may follow on the same terminal.
  const { default: ora } = await import('ora');
  const spinner = ora({ text, stream: deps.stderr, discardStdin: false }).start();
  try {
    return await work();
  } finally {
    spinner.stop();
  }
}
