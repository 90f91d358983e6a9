// A registry with users, groups and access rules for the auth suites: real htpasswd and rules files,
// the real ServerAuth, the real server on port 0, and a log that can be searched for secrets.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServerAuth } from '../../src/auth/create.js';
import { hashPassword } from '../../src/auth/htpasswd.js';
import type { AuthConfig } from '../../src/config/schema.js';
import { createLogger } from '../../src/log/logger.js';
import { RegistryHttp, type HttpResponse, type SendOptions } from '../helpers/http.js';
import { tempDir, type TempDir } from '../helpers/interop.js';
import { startRegistry, type TestRegistry } from '../helpers/server.js';

/** Every user's password is `<name>-pw`. */
export const USERS = ['alice', 'bob', 'mallory', 'root'] as const;
export type User = (typeof USERS)[number];

export const RULES = `# who may do what; first match wins
groups:
  devs: [alice, bob]
admins: [root]
rules:
  - repositories: ["public/internal/**"]
    pull: ["@devs"]
  - repositories: ["public/**"]
    pull: ["*", anonymous]
    push: [root]
  - repositories: ["team-a/**"]
    pull: ["@devs"]
    push: ["@devs"]
    delete: [alice]
  - repositories: ["mallory/**"]
    push: [mallory]
`;

export function basic(user: string, password = `${user}-pw`): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** A RegistryHttp that sends one Authorization header (or none) with every request. */
export class AuthHttp extends RegistryHttp {
  constructor(
    origin: string,
    private readonly authorization: string | undefined,
  ) {
    super(origin);
  }

  override send(method: string, path: string, options: SendOptions = {}): Promise<HttpResponse> {
    const headers = this.authorization ? { authorization: this.authorization, ...options.headers } : options.headers;
    return super.send(method, path, { ...options, headers });
  }
}

export interface AuthRegistry {
  server: TestRegistry;
  dir: TempDir;
  rulesFile: string;
  /** Everything the server logged, access lines included. */
  log: string[];
  /** As `user` with Basic credentials; undefined = anonymous. */
  as(user: User | undefined): AuthHttp;
  close(): Promise<void>;
}

let hashes: Promise<string> | undefined;

/** bcrypt is slow on purpose: the htpasswd text is made once per test file. */
function htpasswd(): Promise<string> {
  return (hashes ??= Promise.all(USERS.map(async (u) => `${u}:${await hashPassword(`${u}-pw`)}`)).then((lines) => `${lines.join('\n')}\n`));
}

export interface AuthRegistryOptions {
  token?: boolean;
  rateLimit?: AuthConfig['rateLimit'];
  clock?: () => number;
  /** The rules file's text; false = no rules file. */
  rules?: string | false;
  tls?: { cert: string; key: string };
}

export async function startAuthRegistry(options: AuthRegistryOptions = {}): Promise<AuthRegistry> {
  const dir = await tempDir('auth');
  const file = join(dir.path, 'htpasswd');
  await writeFile(file, await htpasswd());
  const rulesFile = join(dir.path, 'access.yaml');
  if (options.rules !== false) await writeFile(rulesFile, options.rules ?? RULES);
  const log: string[] = [];
  const logger = createLogger({ level: 'debug', format: 'text', write: (line) => log.push(line) });
  const config: AuthConfig = {
    htpasswd: { path: file },
    rateLimit: options.rateLimit ?? { failures: 100, windowMs: 60_000 },
    ...(options.rules !== false ? { accessRulesFile: rulesFile } : {}),
    ...(options.token ? { token: { service: 'regctl-test', issuer: 'regctl-test-issuer', expirationMs: 300_000 } } : {}),
  };
  const auth = await createServerAuth(config, { logger, configDir: join(dir.path, 'config'), ...(options.clock ? { clock: options.clock } : {}) });
  const server = await startRegistry({ driver: 'filesystem', auth, logger, ...(options.tls ? { tls: options.tls } : {}) });
  const clients: AuthHttp[] = [];
  return {
    server,
    dir,
    rulesFile,
    log,
    as(user) {
      const http = new AuthHttp(server.url, user ? basic(user) : undefined);
      clients.push(http);
      return http;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
      await dir.remove();
    },
  };
}
