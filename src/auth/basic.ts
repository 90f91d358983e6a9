import { createHash } from 'node:crypto';
import type { Logger } from '../log/logger.js';
import { parseHtpasswd, verifyPassword, type Htpasswd, type HtpasswdEntry } from './htpasswd.js';
import { WatchedFile, type Reload } from './watched-file.js';

export const BASIC_CHALLENGE = 'Basic realm="regctl"';

// bcrypt is slow on purpose; a client sends the same credentials with every request of a push.
const CACHE_TTL_MS = 60_000;
const CACHE_MAX = 1024;
// Unknown users still cost one bcrypt comparison, so response times do not tell which names exist.
const NO_SUCH_USER = '$2b$10$ngZXlBnDKJ.g6dacI5TnSOeFdCNK5G4kzL/rdj.KieErdmbjskiEi';

/**
 * Password checks against an htpasswd file that is re-read whenever it changes, so `regctl user add`
 * takes effect without a restart.
 */
export class BasicAuth {
  /** user + sha256(password) → expiry; cleared whenever the file changes. */
  private readonly verified = new Map<string, number>();
  private users = new Map<string, string>();
  private names = new Set<string>();
  private watched!: WatchedFile<Htpasswd>;

  private constructor(
    readonly file: string,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  /** Loads the file once; entries it will not accept are logged as warnings, naming user and line. */
  static async open(file: string, logger: Logger, now: () => number = Date.now): Promise<BasicAuth> {
    const auth = new BasicAuth(file, logger, now);
    auth.watched = await WatchedFile.open(file, (text) => parseHtpasswd(text ?? ''), (reload) => auth.reloaded(reload), logger);
    return auth;
  }

  get userCount(): number {
    return this.users.size;
  }

  /** Whether the file has a line for this user, whatever its hash (for typo checks of the access rules). */
  has(user: string): boolean {
    return this.names.has(user);
  }

  /** Whether the password is the user's; never throws for wrong credentials. */
  async verify(user: string, password: string): Promise<boolean> {
    await this.watched.value();
    const key = `${user}\n${createHash('sha256').update(password).digest('hex')}`;
    const expires = this.verified.get(key);
    if (expires !== undefined && expires > this.now()) return true;
    this.verified.delete(key);
    const hash = this.users.get(user);
    const ok = await verifyPassword(password, hash ?? NO_SUCH_USER);
    if (!ok || hash === undefined || this.users.get(user) !== hash) return false;
    if (this.verified.size >= CACHE_MAX) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(key, this.now() + CACHE_TTL_MS);
    return true;
  }

  private reloaded({ value, first, missing }: Reload<Htpasswd>): void {
    this.users = value.users;
    this.names = new Set(value.entries.map((e) => e.user));
    this.verified.clear();
    if (!first) this.logger.info('htpasswd file changed; users reloaded', { file: this.file, users: value.users.size });
    if (missing) this.logger.warn('htpasswd file is missing: nobody can log in', { file: this.file });
    for (const entry of value.rejected) this.logger.warn(rejectionMessage(entry), { file: this.file, line: entry.line, user: entry.user });
  }
}

function rejectionMessage(entry: HtpasswdEntry): string {
  if (entry.format === 'not user:hash') return `htpasswd line ${entry.line} is not user:hash; fix or delete it (add users with: regctl user add NAME)`;
  return `htpasswd user "${entry.user}" uses ${entry.format}, which regctl does not accept (only bcrypt); re-add it with: regctl user add ${entry.user}`;
}

/**
 * What a Basic Authorization header holds: credentials, `anonymous` for an empty one (`Basic Og==`,
 * an empty user and password, which skopeo sends when it has no login), `malformed` for a Basic
 * header that is not base64 of `user:password`, or undefined when the header is not Basic at all.
 */
export function readBasic(header: string | undefined): { user: string; password: string } | 'anonymous' | 'malformed' | undefined {
  if (!/^Basic(\s|$)/i.test(header ?? '')) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header!);
  if (!m) return 'malformed';
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  if (decoded === ':') return 'anonymous';
  const colon = decoded.indexOf(':');
  if (colon <= 0) return 'malformed';
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** `Basic base64(user:password)`; the password may contain `:`. An empty credential is none (see readBasic). */
export function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const basic = readBasic(header);
  return typeof basic === 'object' ? basic : undefined;
}
