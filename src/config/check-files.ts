import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from './errors.js';
import type { ServeConfig } from './schema.js';

/** The settings that name a file or directory on this machine. */
export type FileSetting =
  | 'http.tls.certificate'
  | 'http.tls.key'
  | 'http.tls.clientcas'
  | 'auth.htpasswd.path'
  | 'regctl.auth.accessrules'
  | 'regctl.auth.token.key'
  | 'storage.filesystem.rootdirectory';

/** Where each file setting was written: `FILE:LINE`, a REGISTRY_* variable or a flag. */
export type FileSources = Partial<Record<FileSetting, string>>;

interface Reference {
  setting: FileSetting;
  what: string;
  path: string;
  /** `file`: must exist; `made`: a file serve creates when absent; `directory`: made when absent. */
  kind: 'file' | 'made' | 'directory';
  /** How to make the file, for a missing one. */
  make?: string;
}

function references(config: ServeConfig): Reference[] {
  const refs: Reference[] = [];
  const { tls } = config.http;
  if (tls?.certificate) refs.push({ setting: 'http.tls.certificate', what: 'TLS certificate', path: tls.certificate, kind: 'file', make: 'regctl tls init makes a certificate and key' });
  if (tls?.key) refs.push({ setting: 'http.tls.key', what: 'TLS key', path: tls.key, kind: 'file', make: 'regctl tls init makes a certificate and key' });
  for (const ca of tls?.clientCas ?? []) refs.push({ setting: 'http.tls.clientcas', what: 'client CA file', path: ca, kind: 'file' });
  const { auth } = config;
  if (auth.htpasswd) {
    const file = resolve(auth.htpasswd.path);
    refs.push({ setting: 'auth.htpasswd.path', what: 'htpasswd file', path: file, kind: 'file', make: `add a user with regctl user add NAME --htpasswd ${file}` });
  }
  if (auth.accessRulesFile) refs.push({ setting: 'regctl.auth.accessrules', what: 'access rules file', path: auth.accessRulesFile, kind: 'file', make: 'write the rules (README, "Access rules")' });
  if (auth.token?.keyFile) refs.push({ setting: 'regctl.auth.token.key', what: 'token signing key', path: auth.token.keyFile, kind: 'made' });
  if (config.storage.driver === 'filesystem') refs.push({ setting: 'storage.filesystem.rootdirectory', what: 'storage root', path: config.storage.rootDirectory, kind: 'directory' });
  return refs;
}

/**
 * What `serve` would refuse at start-up about the files the configuration names, as ConfigErrors
 * pointing at the setting: missing files, directories where a file belongs, a storage root that is
 * a file. Relative paths are relative to the working directory (as in the CNCF registry) and shown
 * whole. Local checks only: nothing here touches the network.
 */
export async function checkFiles(config: ServeConfig, where: (setting: FileSetting) => string): Promise<ConfigError[]> {
  const problems = await Promise.all(references(config).map(async (ref) => {
    const problem = await checkOne(ref, resolve(ref.path));
    return problem ? new ConfigError(where(ref.setting), problem) : undefined;
  }));
  return problems.filter((p): p is ConfigError => p !== undefined);
}

async function checkOne(ref: Reference, path: string): Promise<string | undefined> {
  const found = await stat(path).catch((err: NodeJS.ErrnoException) => err.code ?? 'error');
  if (ref.kind === 'directory') {
    if (typeof found !== 'string') return found.isDirectory() ? undefined : `${ref.what} ${path} is a file, not a directory; choose a directory`;
    const blocker = await nearestNonDirectory(path);
    return blocker ? `${ref.what} ${path} cannot be made: ${blocker} is a file, not a directory; choose another directory` : undefined;
  }
  if (typeof found === 'string') {
    if (found !== 'ENOENT' && found !== 'ENOTDIR') return `cannot read ${ref.what} ${path} (${found})`;
    if (ref.kind === 'made') return undefined;
    return `no ${ref.what} at ${path}${ref.make ? `: ${ref.make}` : '; fix the path'}`;
  }
  if (!found.isFile()) {
    const example = ref.setting === 'auth.htpasswd.path' ? `, e.g. ${join(path, 'htpasswd')}` : '';
    return `${ref.what} ${path} is a directory, not a file; name the file itself${example}`;
  }
  if (ref.kind === 'file') {
    const unreadable = await access(path, constants.R_OK).then(() => undefined, (err: NodeJS.ErrnoException) => err.code ?? 'error');
    if (unreadable) return `cannot read ${ref.what} ${path} (${unreadable}); fix its permissions`;
  }
  return undefined;
}

/** The first existing ancestor of a missing directory, when it is not a directory. */
async function nearestNonDirectory(path: string): Promise<string | undefined> {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const found = await stat(dir).catch(() => undefined);
    if (found) return found.isDirectory() ? undefined : dir;
    if (dirname(dir) === dir) return undefined;
  }
}
