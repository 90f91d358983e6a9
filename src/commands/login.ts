import type { Command } from 'commander';
import type { CliDeps } from '../cli/deps.js';
import { ask } from '../cli/prompt.js';
import { UsageError } from '../cli/errors.js';
import { addRemoteOptions, connectionOptions, emptyPassword, parseRegistry, readStdin, type RemoteFlags } from '../cli/remote.js';
import { connect } from '../client/connect.js';
import type { Credentials } from '../client/credentials.js';
import { AuthError } from '../client/errors.js';
import { outputFor } from './present.js';

export interface LoginResult {
  registry: string;
  username: string;
  /** The Docker config file the login went to. */
  configPath: string;
}

export interface LogoutResult {
  registry: string;
  /** False when there was no login to remove. */
  removed: boolean;
  configPath: string;
}

const REGISTRY_HELP =
  '\nWithout a registry: $REGCTL_REGISTRY, else "registry" in ~/.config/regctl/config.yml, else localhost:5000. ' +
  'Logins are kept in the Docker config ($DOCKER_CONFIG/config.json or ~/.docker/config.json), shared with `docker login`.';

/** Checks the credentials with the registry (GET /v2/ with them) and stores them only if it accepts. */
export async function runLogin(registryArg: string | undefined, flags: RemoteFlags, deps: CliDeps): Promise<LoginResult> {
  const target = parseRegistry(registryArg, deps);
  const credentials = await askCredentials(target.registry, flags, deps);
  // The flags' connection settings, but exactly these credentials: neither a stored login nor REGCTL_*.
  const options = { ...(await connectionOptions({ ...flags, username: undefined, passwordStdin: false }, deps)), credentials };
  const client = await connect(target.registry, target.scheme, options);
  try {
    await client.ping();
  } catch (err) {
    if (err instanceof AuthError) throw new AuthError(`${err.message}; nothing was stored`, { cause: err });
    throw err;
  } finally {
    await client.close();
  }
  await deps.dockerConfig.set(target.registry, credentials);
  return { registry: target.registry, username: credentials.username, configPath: deps.dockerConfig.path };
}

export async function runLogout(registryArg: string | undefined, deps: CliDeps): Promise<LogoutResult> {
  const { registry } = parseRegistry(registryArg, deps);
  const removed = await deps.dockerConfig.remove(registry);
  return { registry, removed, configPath: deps.dockerConfig.path };
}

/** Flags first; a person at a terminal is asked for what is missing; a script must say everything. */
async function askCredentials(registry: string, flags: RemoteFlags, deps: CliDeps): Promise<Credentials> {
  if (flags.passwordStdin && !flags.username) throw new UsageError('--password-stdin goes with --username (-u)');
  const terminal = Boolean(deps.stdin.isTTY);
  let username = flags.username;
  if (!username && terminal) {
    const stored = await deps.dockerConfig.get(registry);
    username = await ask(deps, { type: 'input', message: `Username for ${registry}:`, default: stored?.username }, 'login cancelled');
  }
  if (!username) throw new UsageError('no terminal to ask for the username: pass -u NAME (and the password with --password-stdin)');

  let password = flags.passwordStdin ? await readStdin(deps) : deps.env.REGCTL_PASSWORD || undefined;
  if (password === undefined && terminal) {
    password = await ask(deps, { type: 'password', message: 'Password:' }, 'login cancelled');
  }
  if (password === undefined) {
    throw new UsageError(`no terminal to ask for the password: pipe it in, e.g. printf '%s' "$PASSWORD" | regctl login -u ${username} --password-stdin ${registry}`);
  }
  if (password === '') throw new UsageError(emptyPassword(Boolean(flags.passwordStdin)));
  return { username, password };
}

export function registerLogin(program: Command, deps: CliDeps): void {
  addRemoteOptions(
    program
      .command('login [registry]')
      .description('check credentials with a registry and store them for regctl and docker')
      .addHelpText('after', `\nIn scripts: printf '%s' "$PASSWORD" | regctl login -u NAME --password-stdin HOST\n${REGISTRY_HELP}`),
  ).action(async (registry: string | undefined, flags: RemoteFlags) => {
    const result = await runLogin(registry, flags, deps);
    outputFor(flags, deps).result(result, () => `logged in to ${result.registry} as ${result.username} (stored in ${result.configPath})`);
  });

  // Logging out touches only the local config, so the connection flags would have nothing to do.
  program
    .command('logout [registry]')
    .description('remove a stored login (shared with docker)')
    .option('--json', 'print the result as one JSON document')
    .addHelpText('after', REGISTRY_HELP)
    .action(async (registry: string | undefined, flags: { json?: boolean }) => {
      const result = await runLogout(registry, deps);
      outputFor(flags, deps).result(result, () =>
        result.removed ? `logged out of ${result.registry} (removed from ${result.configPath})` : `not logged in to ${result.registry}`,
      );
    });
}
