import { Command } from 'commander';
import { registerCatalog } from '../commands/catalog.js';
import { registerConfig } from '../commands/config.js';
import { registerCopy } from '../commands/copy.js';
import { registerDu } from '../commands/du.js';
import { registerGc } from '../commands/gc.js';
import { registerImages } from '../commands/images.js';
import { registerInit } from '../commands/init.js';
import { registerInspect } from '../commands/inspect.js';
import { registerLogin } from '../commands/login.js';
import { registerPush } from '../commands/push.js';
import { registerRm } from '../commands/rm.js';
import { registerTag } from '../commands/tag.js';
import { registerTags } from '../commands/tags.js';
import { registerTls } from '../commands/tls.js';
import { registerUser } from '../commands/user.js';
import { registerServe } from '../commands/serve.js';
import type { CliDeps } from './deps.js';
import { VERSION } from './version.js';

/** The whole CLI; main.ts parses with it, tests drive it with exitOverride and their own deps. */
export function createProgram(deps: CliDeps): Command {
  const program = new Command('regctl')
    .description('Run and manage private container registries')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (text) => deps.stdout.write(text),
      writeErr: (text) => deps.stderr.write(text),
      outputError: (message, write) => write(`regctl: ${message.replace(/^error: /, '')}`),
    })
    .exitOverride();
  registerServe(program);
  registerCatalog(program, deps);
  registerTags(program, deps);
  registerInspect(program, deps);
  registerTag(program, deps);
  registerRm(program, deps);
  registerCopy(program, deps);
  registerLogin(program, deps);
  registerGc(program, deps);
  registerDu(program, deps);
  registerPush(program, deps);
  registerImages(program, deps);
  registerTls(program, deps);
  registerUser(program, deps);
  registerConfig(program, deps);
  registerInit(program, deps);
  return program;
}
