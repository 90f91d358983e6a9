import inquirer from 'inquirer';
import type { CliDeps } from './deps.js';

/** Asks only a person at a terminal; scripts (no TTY) never see a prompt. */
export function canPrompt(deps: CliDeps): boolean {
  return Boolean(deps.stdin.isTTY && deps.stderr.isTTY);
}

export async function confirm(deps: CliDeps, message: string): Promise<boolean> {
  const prompt = inquirer.createPromptModule({ input: deps.stdin as NodeJS.ReadStream, output: deps.stderr as NodeJS.WriteStream });
  const answer = await prompt<{ ok: boolean }>([{ type: 'confirm', name: 'ok', message, default: false }]);
  return answer.ok;
}
