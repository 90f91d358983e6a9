import { PassThrough } from 'node:stream';
import type { CliDeps } from './deps.js';
import { CliError } from './errors.js';

/** Asks only a person at a terminal; scripts (no TTY) never see a prompt. */
export function canPrompt(deps: CliDeps): boolean {
  return Boolean(deps.stdin.isTTY);
}

type Question = { type: 'input' | 'password'; message: string; default?: string } | { type: 'confirm'; message: string };

/**
 * One inquirer question on stderr. Inquirer is loaded only here (it is the slowest import of the
 * CLI), and Ctrl-C at a prompt is the person's choice, not a crash.
 */
async function prompt(deps: CliDeps, question: Question, cancelled: string): Promise<unknown> {
  const { default: inquirer } = await import('inquirer');
  // Inquirer ends its output after each question; stderr has to outlive it.
  const output = new PassThrough();
  output.pipe(deps.stderr, { end: false });
  const ask = inquirer.createPromptModule({ input: deps.stdin as NodeJS.ReadStream, output });
  try {
    const answers = await ask([
      question.type === 'password'
        ? { type: 'password', name: 'value', message: question.message, mask: '*' }
        : question.type === 'confirm'
          ? { type: 'confirm', name: 'value', message: question.message, default: false }
          : { type: 'input', name: 'value', message: question.message, default: question.default },
    ]);
    return answers.value;
  } catch (err) {
    if ((err as Error)?.name === 'ExitPromptError') throw new CliError(cancelled);
    throw err;
  } finally {
    output.unpipe(deps.stderr);
  }
}

export async function ask(deps: CliDeps, question: Extract<Question, { type: 'input' | 'password' }>, cancelled: string): Promise<string> {
  return String(await prompt(deps, question, cancelled));
}

export async function confirm(deps: CliDeps, message: string, cancelled: string): Promise<boolean> {
  return Boolean(await prompt(deps, { type: 'confirm', message }, cancelled));
}
