import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuthConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { BasicAuth, BASIC_CHALLENGE } from './basic.js';
import { Logins } from './logins.js';
import { LoginLimiter } from './rate-limit.js';
import { AccessRulesError, parseAccessRules } from './rules-file.js';
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
  const { logger } = deps;
  const now = deps.clock ?? Date.now;

  let users: BasicAuth | undefined;
  if (config.htpasswd) {
    const file = config.htpasswd.path;
    if (!(await stat(file).catch(() => undefined))) throw new AuthSetupError(`no htpasswd file at ${file}: add a user with regctl user add NAME --htpasswd ${file}`, true);
    users = await BasicAuth.open(file, logger, now);
    if (users.userCount === 0) logger.warn('the htpasswd file has no bcrypt users: nobody can log in', { file });
  } else {
    logger.warn('no htpasswd file: nobody can log in; only what the access rules give anonymous is open');
  }
  const logins = new Logins(users, new LoginLimiter(config.rateLimit, now), logger);
  const policy = config.accessRulesFile ? await rulesPolicy(config.accessRulesFile, logger) : async () => AUTHENTICATED_MAY_DO_ALL;

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

/** The rules file, re-read when it changes; a broken edit is logged and the rules before it stay. */
async function rulesPolicy(file: string, logger: Logger): Promise<() => Promise<AccessPolicy>> {
  const parse = (text: string | undefined): AccessPolicy => {
    if (text === undefined) throw new AccessRulesError(`no access rules file at ${file}`);
    return policyOf(parseAccessRules(text, file));
  };
  try {
    const watched = await WatchedFile.open(file, parse, ({ first }) => logger.info(first ? 'access rules loaded' : 'access rules file changed; rules reloaded', { file }), logger);
    return () => watched.value();
  } catch (err) {
    throw new AuthSetupError((err as Error).message, (await stat(file).catch(() => undefined)) === undefined);
  }
}
