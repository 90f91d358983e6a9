import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuthConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { BasicAuth, BASIC_CHALLENGE } from './basic.js';
import { Logins } from './logins.js';
import { LoginLimiter } from './rate-limit.js';
import { AUTHENTICATED_MAY_DO_ALL, policyOf, type AccessPolicy } from './rules.js';
import { ServerAuth } from './server-auth.js';
import { loadSigningKey } from './token-key.js';
import { TokenService } from './token-service.js';
import { TokenSigner } from './tokens.js';
import { WatchedFile } from './watched-file.js';

export interface ServerAuthDeps {
  logger: Logger;
  /** regctl's config directory: the token signing key is kept under it unless `token.keyFile` is set. */
  configDir: string;
  clock?: () => number;
}

/** A setting that stops start-up; the message is one line that says what to fix. */
export class AuthSetupError extends Error {
  override name = 'AuthSetupError';

  /** `missing`: a file named by the config does not exist (the CLI's "not found" exit code). */
  constructor(
    message: string,
    readonly missing = false,
  ) {
    super(message);
  }
}

/**
 * Builds the server's auth from its config section, or undefined when the registry is open (no
 * htpasswd, no token service, no rules). Files are checked now, so a wrong path or a broken rules
 * file stops start-up with one line instead of refusing every request later.
 */
export async function createServerAuth(config: AuthConfig, deps: ServerAuthDeps): Promise<ServerAuth | undefined> {
  if (!config.htpasswd && !config.token && !config.accessRulesFile) return undefined;
  // A token service with neither users nor rules grants nothing to anybody: a registry nobody can use.
  if (config.token && !config.htpasswd && !config.accessRulesFile) {
    throw new AuthSetupError('the token service needs users to log in: add --htpasswd FILE (create it with regctl user add NAME --htpasswd FILE)');
  }
  const { logger } = deps;
  const now = deps.clock ?? Date.now;

  let users: BasicAuth | undefined;
  if (config.htpasswd) {
    const file = config.htpasswd.path;
    await expectFile(file, '--htpasswd', 'htpasswd', 'htpasswd', `add a user with regctl user add NAME --htpasswd ${file}`);
    users = await BasicAuth.open(file, logger, now);
    if (users.userCount === 0) logger.warn('the htpasswd file has no bcrypt users: nobody can log in', { file });
  } else {
    logger.warn('no htpasswd file: nobody can log in; only what the access rules give anonymous is open');
  }
  const logins = new Logins(users, new LoginLimiter(config.rateLimit, now), logger);
  const policy = config.accessRulesFile ? await rulesPolicy(config.accessRulesFile, users, logger) : async () => AUTHENTICATED_MAY_DO_ALL;

  if (!config.token) return new ServerAuth(logins, policy, undefined);
  const keyFile = config.token.keyFile ?? join(deps.configDir, 'token', 'key.pem');
  const key = await loadSigningKey(keyFile).catch((err: Error) => {
    throw new AuthSetupError(err.message);
  });
  if (key.created) logger.info('generated the token signing key', { file: keyFile });
  const signer = new TokenSigner(key, config.token, now);
  const tokens = new TokenService(config.token.service, signer, logins, policy, BASIC_CHALLENGE);
  return new ServerAuth(logins, policy, { service: config.token.service, realm: config.token.realm, signer, tokens });
}

/** A missing file or a directory where a file belongs stops start-up with one line saying what to pass. */
async function expectFile(file: string, flag: string, what: string, example: string, create: string): Promise<void> {
  const info = await stat(file).catch(() => undefined);
  if (!info) throw new AuthSetupError(`no ${what} file at ${file}: ${create}`, true);
  if (info.isDirectory()) throw new AuthSetupError(`${file} is a directory: ${flag} takes the ${what} file itself, e.g. ${join(file, example)}`);
}

/**
 * The rules file, re-read when it changes; a broken edit is logged and the rules before it stay.
 * Each load warns of what is legal but almost surely a mistake: no rules at all, or a user the
 * htpasswd file does not have (a typo locks that person out without a word).
 */
async function rulesPolicy(file: string, users: BasicAuth | undefined, logger: Logger): Promise<() => Promise<AccessPolicy>> {
  await expectFile(file, '--access-rules', 'access rules', 'access.yaml', 'write one (see "Access rules" in the README) or correct the --access-rules path');
  // The YAML parser is loaded only for a rules file, so a plain serve keeps a smaller heap.
  const { AccessRulesError, parseAccessRules } = await import('./rules-file.js');
  const parse = (text: string | undefined): AccessPolicy => {
    if (text === undefined) throw new AccessRulesError(`no access rules file at ${file}`);
    const rules = parseAccessRules(text, file);
    if (rules.rules.length === 0) logger.warn('the access rules file has no rules: every repository is private to everybody; add rules under "rules:"', { file });
    for (const u of rules.users) {
      if (!users || users.has(u.name)) continue;
      logger.warn(`the access rules name user "${u.name}" (line ${u.line}), who is not in the htpasswd file ${users.file}: a typo? or add them with regctl user add ${u.name} --htpasswd ${users.file}`, { file, line: u.line, user: u.name });
    }
    return policyOf(rules);
  };
  try {
    const watched = await WatchedFile.open(file, parse, ({ first }) => logger.info(first ? 'access rules loaded' : 'access rules file changed; rules reloaded', { file }), logger);
    return () => watched.value();
  } catch (err) {
    throw new AuthSetupError((err as Error).message, (await stat(file).catch(() => undefined)) === undefined);
  }
}
