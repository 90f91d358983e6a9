import { Command } from 'commander';
import type { CliDeps } from './deps.js';
import { VERSION } from './version.js';

type Register = (program: Command, deps: CliDeps) => void;

/**
 * Every command group, loaded on demand: a run imports only the module of the command it names, so
 * start-up stays short (every `regctl copy` in a CI script pays it) and a long-running `serve` keeps
 * a small heap: with every command module loaded, V8 marked the whole heap about every 25 MiB of a
 * blob upload (external-memory pressure), costing pushes a fifth of their throughput.
 */
const GROUPS: { names: string[]; load: () => Promise<Register> }[] = [
  { names: ['serve'], load: async () => (await import('../commands/serve.js')).registerServe },
  { names: ['catalog'], load: async () => (await import('../commands/catalog.js')).registerCatalog },
  { names: ['tags'], load: async () => (await import('../commands/tags.js')).registerTags },
  { names: ['inspect', 'digest'], load: async () => (await import('../commands/inspect.js')).registerInspect },
  { names: ['tag'], load: async () => (await import('../commands/tag.js')).registerTag },
  { names: ['rm'], load: async () => (await import('../commands/rm.js')).registerRm },
  { names: ['copy'], load: async () => (await import('../commands/copy.js')).registerCopy },
  { names: ['login', 'logout'], load: async () => (await import('../commands/login.js')).registerLogin },
  { names: ['gc'], load: async () => (await import('../commands/gc.js')).registerGc },
  { names: ['du'], load: async () => (await import('../commands/du.js')).registerDu },
  { names: ['push', 'pull'], load: async () => (await import('../commands/push.js')).registerPush },
  { names: ['images'], load: async () => (await import('../commands/images.js')).registerImages },
  { names: ['tls'], load: async () => (await import('../commands/tls.js')).registerTls },
  { names: ['user'], load: async () => (await import('../commands/user.js')).registerUser },
  { names: ['config'], load: async () => (await import('../commands/config.js')).registerConfig },
  { names: ['init'], load: async () => (await import('../commands/init.js')).registerInit },
];

/**
 * The CLI; main.ts parses with it, tests drive it with exitOverride and their own deps. Given the
 * argv it will parse, only the named command's group is registered (none for the version); help and
 * unknown commands (which commander answers with suggestions) get every group.
 */
export async function createProgram(deps: CliDeps, argv?: readonly string[]): Promise<Command> {
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
  const named = argv?.[2];
  if (named === '-V' || named === '--version') return program;
  const group = named === undefined ? undefined : GROUPS.find((g) => g.names.includes(named));
  for (const { load } of group ? [group] : GROUPS) (await load())(program, deps);
  return program;
}
