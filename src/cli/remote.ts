import { Option, type Command } from 'commander';
import type { RegistryClient } from '../client/client.js';
import { connect, credentialsFromEnv, type ConnectionOptions } from '../client/connect.js';
import type { Credentials } from '../client/credentials.js';
import { defaultRegistry } from '../config/user-config.js';
import { parseImageReference, splitScheme, type ImageReference } from '../oci/reference.js';
import { OciError } from '../oci/errors.js';
import type { CliDeps } from './deps.js';
import { UsageError } from './errors.js';

/** Flags every command that talks to a registry accepts. */
export interface RemoteFlags {
  plainHttp?: boolean;
  insecure?: boolean;
  caFile?: string;
  username?: string;
  passwordStdin?: boolean;
  timeout?: number;
  json?: boolean;
}

export const REFERENCE_HELP =
  'References are [host[:port]/]name[:tag|@digest]. Without a host the registry is $REGCTL_REGISTRY, else "registry" in ' +
  '~/.config/regctl/config.yml, else localhost:5000 (unlike Docker, whose default is Docker Hub). ' +
  'Loopback registries use plain HTTP, others HTTPS; write http:// or https:// before the host to choose.';

export function addRemoteOptions(command: Command): Command {
  return command
    .option('--plain-http', 'use HTTP, not HTTPS, for any registry')
    .option('--insecure', 'skip TLS certificate verification')
    .option('--ca-file <file>', 'also trust the CA certificates in this PEM file')
    .option('-u, --username <name>', 'log in as this user (password from --password-stdin or REGCTL_PASSWORD)')
    .option('--password-stdin', 'read the password from standard input')
    .addOption(new Option('--timeout <ms>', 'network timeout per request').argParser(parsePositiveInt).default(30_000))
    .option('--json', 'print the result as one JSON document');
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`expected a positive whole number, got "${value}"`);
  return n;
}

const stdinText = new WeakMap<CliDeps, Promise<string>>();

/**
 * The whole of stdin (for --password-stdin), without its final newline; read once, so a command
 * that connects to several registries gets the same password each time.
 */
export function readStdin(deps: CliDeps): Promise<string> {
  let text = stdinText.get(deps);
  if (!text) {
    text = (async () => {
      let all = '';
      for await (const chunk of deps.stdin) all += chunk;
      return all.replace(/\r?\n$/, '');
    })();
    stdinText.set(deps, text);
  }
  return text;
}

/** For `user add`, `init` and `login`: an empty password is almost always an unset variable in a pipe. */
export function emptyPassword(fromStdin: boolean): string {
  return fromStdin
    ? `the password read from stdin is empty; nothing was changed: pipe a non-empty one, e.g. printf '%s' "$PASSWORD" | … --password-stdin (is $PASSWORD set?)`
    : 'the password is empty; nothing was changed: type a non-empty one';
}

export async function connectionOptions(flags: RemoteFlags, deps: CliDeps): Promise<ConnectionOptions> {
  let credentials: Credentials | undefined = credentialsFromEnv(deps.env);
  if (flags.username) {
    const password = flags.passwordStdin ? await readStdin(deps) : deps.env.REGCTL_PASSWORD;
    if (password === undefined || password === '') {
      throw new UsageError('--username needs a password: pipe it to --password-stdin or set REGCTL_PASSWORD');
    }
    credentials = { username: flags.username, password };
  } else if (flags.passwordStdin) {
    throw new UsageError('--password-stdin goes with --username');
  }
  return {
    plainHttp: flags.plainHttp,
    insecure: flags.insecure,
    caFile: flags.caFile,
    credentials,
    timeoutMs: flags.timeout,
    certsDir: deps.certsDir,
    dockerConfig: deps.dockerConfig,
  };
}

/** Parses a reference with the configured default registry; bad input is a usage error. */
export function parseReference(input: string, deps: CliDeps): ImageReference {
  try {
    return parseImageReference(input, defaultRegistry(deps.env));
  } catch (err) {
    if (err instanceof OciError) throw new UsageError(`invalid reference "${input}": ${err.message}`);
    throw err;
  }
}

/** `[scheme://]host[:port]` for commands that take a registry, not an image. */
export function parseRegistry(input: string | undefined, deps: CliDeps): { registry: string; scheme?: 'http' | 'https' } {
  return splitScheme(input ?? defaultRegistry(deps.env));
}

/** Runs `fn` with a client for the registry, always closing it. */
export async function withClient<T>(
  target: { registry: string; scheme?: 'http' | 'https' },
  flags: RemoteFlags,
  deps: CliDeps,
  fn: (client: RegistryClient) => Promise<T>,
): Promise<T> {
  const client = await connect(target.registry, target.scheme, await connectionOptions(flags, deps));
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}
