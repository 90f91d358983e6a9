import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import type { CliDeps } from '../cli/deps.js';
import { parseHtpasswd, readHtpasswdFile } from '../auth/htpasswd.js';
import { CliError, UsageError } from '../cli/errors.js';
import { createOutput } from '../cli/output.js';
import { ask, canPrompt, confirm } from '../cli/prompt.js';
import { DEFAULT_ADDR } from '../config/defaults.js';
import { defaultStorageRoot, parseListenAddress } from '../config/paths.js';
import { renderConfigFile, type InitSettings } from '../config/render.js';
import { configDir } from '../config/user-config.js';
import { tlsPaths } from '../tls/files.js';
import { writePrivateFile } from '../util/private-file.js';
import { runTlsInit } from './tls.js';
import { runUserAdd } from './user.js';

export interface InitFlags {
  output?: string;
  addr?: string;
  root?: string;
  /** HTTPS with the certificate of `regctl tls init` (made now when missing). */
  tls?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  user?: string;
  passwordStdin?: boolean;
  htpasswd?: string;
  force?: boolean;
  yes?: boolean;
}

export interface InitResult {
  file: string;
  /** An existing file was replaced (--force, --yes or a confirmed question). */
  replaced: boolean;
  addr: string;
  root: string;
  tls: 'none' | 'generated' | 'files';
  htpasswd?: string;
  user?: string;
  /** How to start the registry it describes. */
  next: string;
}

/** The wizard's questions; the terminal answers them in use, tests answer them directly. */
export interface Prompter {
  input(message: string, fallback: string): Promise<string>;
  password(message: string): Promise<string>;
  confirm(message: string): Promise<boolean>;
}

const CANCELLED = 'cancelled; no config file was written';

export function terminalPrompter(deps: CliDeps): Prompter {
  return {
    input: (message, fallback) => ask(deps, { type: 'input', message, default: fallback }, CANCELLED),
    password: (message) => ask(deps, { type: 'password', message }, CANCELLED),
    confirm: (message) => confirm(deps, message, CANCELLED),
  };
}

/**
 * Writes a config file for `regctl serve --config`. Every question has a flag; without a terminal
 * (or with --yes) nothing is asked and unanswered questions take their defaults.
 */
export async function runInit(flags: InitFlags, deps: CliDeps, prompter: Prompter = terminalPrompter(deps)): Promise<InitResult> {
  const interactive = canPrompt(deps) && !flags.yes;
  if (flags.passwordStdin && !flags.user) throw new UsageError('--password-stdin needs --user NAME: the password is the first user\'s');
  const file = resolve(flags.output ?? join(configDir(deps.env), 'registry.yml'));
  const existing = await stat(file).catch(() => undefined);
  if (existing?.isDirectory()) throw new UsageError(`${file} is a directory; give --output a file name, e.g. ${join(file, 'registry.yml')}`);
  if (existing && !flags.force && !flags.yes) {
    if (!interactive) throw new UsageError(`${file} exists; pass --force to replace it, or --output to write elsewhere`);
    if (!(await prompter.confirm(`${file} exists. Replace it?`))) throw new CliError(CANCELLED);
  }
  const htpasswdFile = resolve(flags.htpasswd ?? join(configDir(deps.env), 'htpasswd'));
  // Before anything is written, the files of `tls init` included.
  if (flags.user) await refuseExistingUser(flags.user, htpasswdFile, Boolean(flags.force));
  const question = async (flag: string | undefined, message: string, fallback: string): Promise<string> =>
    (flag ?? (interactive ? (await prompter.input(message, fallback)).trim() : fallback)) || fallback;

  const addr = await question(flags.addr, 'Address to listen on (":5000" = every interface)', DEFAULT_ADDR);
  try {
    parseListenAddress(addr);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const root = resolve(await question(flags.root, 'Storage root directory', defaultStorageRoot(deps.env)));
  const tls = await chooseTls(flags, interactive, prompter, deps);
  const settings: InitSettings = { addr, rootDirectory: root, ...(tls.files ? { tls: tls.files } : {}) };

  const user = await question(flags.user, 'First user (empty = no login needed)', '');
  let htpasswd: string | undefined;
  if (user) {
    htpasswd = htpasswdFile;
    if (!flags.user) await refuseExistingUser(user, htpasswd, Boolean(flags.force));
    await addUser(user, htpasswd, flags, interactive, prompter, deps);
    settings.htpasswd = htpasswd;
  }
  await writePrivateFile(file, renderConfigFile(settings)).catch((err: NodeJS.ErrnoException) => {
    throw new CliError(`cannot write ${file} (${err.code ?? err.message}); choose another place with --output`);
  });
  return { file, replaced: existing !== undefined, addr, root, tls: tls.kind, ...(htpasswd ? { htpasswd, user } : {}), next: `regctl serve --config ${file}` };
}

async function chooseTls(flags: InitFlags, interactive: boolean, prompter: Prompter, deps: CliDeps): Promise<{ kind: InitResult['tls']; files?: { certificate: string; key: string } }> {
  if (Boolean(flags.tlsCert) !== Boolean(flags.tlsKey)) throw new UsageError('--tls-cert and --tls-key go together');
  if (flags.tlsCert) return { kind: 'files', files: { certificate: await pemFile(flags.tlsCert, '--tls-cert'), key: await pemFile(flags.tlsKey!, '--tls-key') } };
  let generated = Boolean(flags.tls);
  if (!generated && interactive && (await prompter.confirm('Serve HTTPS?'))) {
    if (await prompter.confirm('Use certificate files of your own? (no = regctl makes a local CA and certificate)')) {
      const certificate = await pemFile(await prompter.input('Certificate (PEM) file', ''), 'the certificate');
      const key = await pemFile(await prompter.input('Private key (PEM) file', ''), 'the key');
      return { kind: 'files', files: { certificate, key } };
    }
    generated = true;
  }
  if (!generated) return { kind: 'none' };
  const paths = tlsPaths(deps.env);
  // Paths in the file, not "use the generated one": the CNCF registry can serve the same file.
  if (!(await stat(paths.serverCert).catch(() => undefined))) await runTlsInit({ days: 365 }, deps);
  return { kind: 'generated', files: { certificate: paths.serverCert, key: paths.serverKey } };
}

/** serve refuses to start without the file; a config naming a missing one is no use. */
async function pemFile(path: string, what: string): Promise<string> {
  const file = resolve(path);
  const found = await stat(file).catch(() => undefined);
  if (!found?.isFile()) throw new UsageError(`${what}: ${found ? `${file} is a directory, not a PEM file` : `no file at ${file}`}; regctl tls init makes a certificate and key, or use --tls`);
  return file;
}

/** The htpasswd file may be shared: changing someone's password must be asked for. */
async function refuseExistingUser(user: string, htpasswd: string, force: boolean): Promise<void> {
  if (force) return;
  const text = await readHtpasswdFile(htpasswd).catch(() => '');
  if (!parseHtpasswd(text).entries.some((e) => e.user === user)) return;
  throw new UsageError(`${user} is already in ${htpasswd}; init leaves passwords alone: change it with regctl user add ${user} --htpasswd ${htpasswd}, or pass --force`);
}

async function addUser(user: string, htpasswd: string, flags: InitFlags, interactive: boolean, prompter: Prompter, deps: CliDeps): Promise<void> {
  if (flags.passwordStdin) {
    await runUserAdd(user, { htpasswd, passwordStdin: true }, deps);
    return;
  }
  if (!interactive) throw new UsageError(`no terminal to ask the password of ${user}: pipe it in with --password-stdin`);
  const password = await prompter.password(`Password for ${user}:`);
  if ((await prompter.password('Again:')) !== password) throw new UsageError(`the passwords differ; ${CANCELLED}`);
  // Through the same path as `regctl user add --password-stdin`, so the same checks apply.
  await runUserAdd(user, { htpasswd, passwordStdin: true }, { ...deps, stdin: Readable.from([password]) });
}

export function registerInit(program: Command, deps: CliDeps): void {
  program
    .command('init')
    .description('write a config file for regctl serve --config: asks on a terminal; every question has a flag for scripts')
    .option('--output <file>', `where to write (default: ${join(configDir(deps.env), 'registry.yml')})`)
    .option('--addr <host:port>', `address to listen on (default: ${DEFAULT_ADDR})`)
    .option('--root <dir>', `storage root (default: ${defaultStorageRoot(deps.env)})`)
    .option('--tls', 'HTTPS with the certificate of regctl tls init (made now when missing)')
    .option('--tls-cert <file>', 'HTTPS with this PEM certificate (chain)')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert')
    .option('--user <name>', 'first user: logins required (htpasswd)')
    .option('--password-stdin', "read the first user's password from stdin")
    .option('--htpasswd <file>', `htpasswd file for the users (default: ${join(configDir(deps.env), 'htpasswd')})`)
    .option('--force', "replace an existing file, and the password of --user when it is already in the htpasswd file")
    .option('-y, --yes', 'ask nothing: defaults for every question not given by a flag; replaces an existing file')
    .option('--json', 'print the result as one JSON document')
    .action(async (flags: InitFlags & { json?: boolean }) => {
      const result = await runInit(flags, deps);
      createOutput({ json: Boolean(flags.json), stdout: deps.stdout, stderr: deps.stderr }).result(result, () =>
        [
          `${result.replaced ? 'replaced' : 'wrote'} ${result.file}`,
          `  listen on ${result.addr}${result.tls === 'none' ? '' : ` (HTTPS, ${result.tls === 'generated' ? 'certificate of regctl tls init' : 'your certificate'})`}`,
          `  store in  ${result.root}`,
          `  logins    ${result.user ? `${result.user} (${result.htpasswd}; more with regctl user add NAME --htpasswd ${result.htpasswd})` : 'none: anyone who reaches it may push and pull'}`,
          '',
          `next: ${result.next}`,
        ].join('\n'),
      );
    });
}
