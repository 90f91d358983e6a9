import { Command } from 'commander';
import { registerServe } from '../commands/serve.js';
import { VERSION } from './version.js';

/** The whole CLI; main.ts parses with it, tests drive it with exitOverride. */
export function createProgram(): Command {
  const program = new Command('regctl')
    .description('Run and manage private container registries')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (message, write) => write(`regctl: ${message.replace(/^error: /, '')}`) })
    .exitOverride();
  registerServe(program);
  return program;
}
