import type { Command } from 'commander';
import type { CliDeps } from '../cli/deps.js';

export function registerUser(_program: Command, _deps: CliDeps): void {}
