import type { Logger } from '../log/logger.js';
import { Unauthorized } from '../oci/errors.js';
import type { BasicAuth } from './basic.js';
import type { LoginLimiter } from './rate-limit.js';

export interface Credentials {
  user: string;
  password: string;
}

/**
 * Every password check of the server (Basic on the API, the token service) goes through here, so
 * they share one failure count per client address and one log line that names the user and the
 * address, never the password.
 */
export class Logins {
  constructor(
    private readonly users: BasicAuth | undefined,
    private readonly limiter: LoginLimiter,
    private readonly logger: Logger,
  ) {}

  /** The user name, or UNAUTHORIZED carrying `challenge`; TOOMANYREQUESTS once the client failed too often. */
  async login(credentials: Credentials, client: string | undefined, challenge: string): Promise<string> {
    // Clients whose address the socket no longer knows share one count rather than escaping it.
    // No password is no login attempt: refused like any wrong password, but neither counted nor
    // blocked, so a locked-out address can still pull what anonymous may.
    if (credentials.password === '') throw new Unauthorized('the password is empty', { headers: { 'WWW-Authenticate': challenge } });
    const key = client ?? 'unknown';
    this.limiter.check(key);
    if (this.users && (await this.users.verify(credentials.user, credentials.password))) return credentials.user;
    this.limiter.failed(key);
    this.logger.warn('failed login', { user: credentials.user, remote: client });
    throw new Unauthorized('invalid username or password', { headers: { 'WWW-Authenticate': challenge } });
  }
}
