import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { CliDeps } from '../cli/deps.js';
import { CliError, ExitCode, UsageError } from '../cli/errors.js';
import { createOutput } from '../cli/output.js';
import { ask } from '../cli/prompt.js';
import { emptyPassword, readStdin } from '../cli/remote.js';
import { hashPassword, parseHtpasswd, removeUser, setUser, validateUserName, type HashFormat } from '../auth/htpasswd.js';
import { configDir } from '../config/user-config.js';
import { writePrivateFile } from '../util/private-file.js';

interface FileFlags {
  htpasswd?: string;
  json?: boolean;
}

export interface UserAddResult {
  user: string;
  file: string;
  /** True when the user existed and got a new password. */
  replaced: boolean;
}

export interface UserRmResult {
  user: string;
  file: string;
}

export interface UserLsResult {
  file: string;
  /** line: 1-based, so a broken line can be found. */
  users: { user: string; line: number; format: HashFormat; accepted: boolean }[];
}

function htpasswdPath(flags: FileFlags, deps: CliDeps): string {
  return flags.htpasswd ?? join(configDir(deps.env), 'htpasswd');
}

/**
 * The file's text. For `add` (no `ifMissing`) a missing file is an empty one, which it creates;
 * for the others it is an error, `ifMissing` saying what that means for the command.
 */
async function readUsers(file: string, ifMissing?: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && ifMissing === undefined) return '';
    if (code === 'ENOENT') throw new CliError(`no htpasswd file at ${file}${ifMissing}: add a user with regctl user add NAME --htpasswd ${file}`, ExitCode.notFound);
    if (code === 'EISDIR') throw new UsageError(`${file} is a directory: --htpasswd takes the htpasswd file itself, e.g. ${join(file, 'htpasswd')}`);
    throw new CliError(`cannot read ${file} (${code ?? (err as Error).message})`);
  }
}

export async function runUserAdd(user: string, flags: FileFlags & { passwordStdin?: boolean }, deps: CliDeps): Promise<UserAddResult> {
  const invalid = validateUserName(user);
  if (invalid) throw new UsageError(invalid);
  const password = await askPassword(user, flags, deps);
  const file = htpasswdPath(flags, deps);
  const updated = setUser(await readUsers(file), user, await hashPassword(password));
  await writePrivateFile(file, updated.text);
  return { user, file, replaced: updated.replaced };
}

async function askPassword(user: string, flags: { passwordStdin?: boolean }, deps: CliDeps): Promise<string> {
  let password: string;
  if (flags.passwordStdin) {
    password = await readStdin(deps);
  } else if (deps.stdin.isTTY) {
    password = await ask(deps, { type: 'password', message: `Password for ${user}:` }, 'cancelled; nothing was changed');
    const again = await ask(deps, { type: 'password', message: 'Again:' }, 'cancelled; nothing was changed');
    if (again !== password) throw new UsageError('the passwords differ; nothing was changed');
  } else {
    throw new UsageError(`no terminal to ask for the password: pipe it in, e.g. printf '%s' "$PASSWORD" | regctl user add ${user} --password-stdin`);
  }
  if (password === '') throw new UsageError(emptyPassword(Boolean(flags.passwordStdin)));
  // bcrypt reads at most 72 bytes: a longer password would match anything sharing its first 72.
  if (Buffer.byteLength(password) > 72) throw new UsageError('the password is longer than 72 bytes, which bcrypt cannot hash');
  return password;
}

export async function runUserRm(user: string, flags: FileFlags, deps: CliDeps): Promise<UserRmResult> {
  const file = htpasswdPath(flags, deps);
  const updated = removeUser(await readUsers(file, `, so no user ${user} to remove`), user);
  if (!updated.removed) throw new CliError(`no user ${user} in ${file}`, ExitCode.notFound);
  await writePrivateFile(file, updated.text);
  return { user, file };
}

export async function runUserLs(flags: FileFlags, deps: CliDeps): Promise<UserLsResult> {
  const file = htpasswdPath(flags, deps);
  const { entries } = parseHtpasswd(await readUsers(file, ''));
  return { file, users: entries.map((e) => ({ user: e.user, line: e.line, format: e.format, accepted: e.format === 'bcrypt' })) };
}

export function registerUser(program: Command, deps: CliDeps): void {
  const user = program.command('user').description('manage the users of `regctl serve --htpasswd` (bcrypt htpasswd file; a running server picks up changes)');
  const fileOption = `htpasswd file (default: ${join(configDir(deps.env), 'htpasswd')})`;
  const output = (flags: FileFlags) => createOutput({ json: Boolean(flags.json), stdout: deps.stdout, stderr: deps.stderr });

  user
    .command('add <name>')
    .description('add a user, or set a new password for an existing one')
    .option('--password-stdin', 'read the password from stdin (for scripts)')
    .option('--htpasswd <file>', fileOption)
    .option('--json', 'print the result as one JSON document')
    .action(async (name: string, flags: FileFlags & { passwordStdin?: boolean }) => {
      const result = await runUserAdd(name, flags, deps);
      output(flags).result(result, () => `${result.replaced ? 'changed the password of' : 'added'} ${result.user} in ${result.file}`);
    });

  user
    .command('rm <name>')
    .description('remove a user')
    .option('--htpasswd <file>', fileOption)
    .option('--json', 'print the result as one JSON document')
    .action(async (name: string, flags: FileFlags) => {
      const result = await runUserRm(name, flags, deps);
      output(flags).result(result, () => `removed ${result.user} from ${result.file}`);
    });

  user
    .command('ls')
    .description('list users, and which cannot log in because of their hash format')
    .option('--htpasswd <file>', fileOption)
    .option('--json', 'print the result as one JSON document')
    .action(async (flags: FileFlags) => {
      const result = await runUserLs(flags, deps);
      output(flags).result(result, () =>
        result.users.length
          ? result.users.map(describeEntry).join('\n')
          : `(no users in ${result.file})`,
      );
    });
}

function describeEntry(u: UserLsResult['users'][number]): string {
  if (u.accepted) return u.user;
  if (u.format === 'not user:hash') return `line ${u.line}: not user:hash; fix or delete it (users are added with regctl user add NAME)`;
  return `${u.user}  (${u.format}: not accepted; re-add with regctl user add ${u.user})`;
}

