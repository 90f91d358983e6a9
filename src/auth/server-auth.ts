import { Denied, OciError, Unauthorized } from '../oci/errors.js';
import { BASIC_CHALLENGE, readBasic } from './basic.js';
import type { Logins } from './logins.js';
import type { AccessPolicy, Action } from './rules.js';
import { CATALOG_SCOPE, type TokenRequest, type TokenService } from './token-service.js';
import { formatScope, InvalidToken, type AccessClaim, type IssuedToken, type TokenSigner } from './tokens.js';

/** Who is asking, as established from the Authorization header. */
export interface Identity {
  /** Undefined = anonymous (no credentials, or an anonymous token). */
  user?: string;
  via: 'none' | 'basic' | 'bearer';
  /** With a Bearer token: what it grants, and nothing beyond (the rules are checked too). */
  access?: AccessClaim[];
}

/** What the pipeline knows of the client when it asks. */
export interface ClientRequest {
  authorization: string | undefined;
  remote: string | undefined;
  /** The Host header, for a token realm derived from the request. */
  host: string | undefined;
  /** Whether the request came over TLS (for the derived realm's scheme). */
  secure: boolean;
}

/** What a route needs: derived in one place (app.ts) from its access kind and repository. */
export type Need = { kind: 'login' } | { kind: 'catalog' } | { kind: 'admin' } | { kind: 'repository'; repo: string; action: Action };

/** The Bearer side, present when the token service is on. */
export interface BearerSettings {
  service: string;
  /** Configured realm; undefined = `<scheme>://<Host>/token` of each request. */
  realm?: string;
  signer: TokenSigner;
  tokens: TokenService;
}

// A Host header is echoed into the challenge; anything beyond host[:port] falls back rather than injecting.
const SANE_HOST = /^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/;

/**
 * Authentication and authorization of the server: Basic against htpasswd, Bearer tokens of the
 * built-in token service, and the access rules. The request pipeline asks `authenticate` once per
 * request and `authorize` once per route; handlers never decide who may do what.
 *
 * With the token service on, the API still takes Basic credentials too (checked and rate-limited
 * the same way): scripts and `regctl gc` against a server keep working, while Docker and other
 * token-aware clients follow the Bearer challenge.
 */
export class ServerAuth {
  constructor(
    private readonly logins: Logins,
    private readonly policy: () => Promise<AccessPolicy>,
    private readonly token: BearerSettings | undefined,
  ) {}

  /** Whether `/token` is served. */
  get tokenService(): boolean {
    return this.token !== undefined;
  }

  async authenticate(client: ClientRequest): Promise<Identity> {
    const header = client.authorization;
    if (header === undefined || header.trim() === '') return { via: 'none' };
    const basic = readBasic(header);
    if (basic === 'anonymous') return { via: 'none' };
    if (basic === 'malformed') {
      throw new Unauthorized('malformed Basic credentials: send base64 of user:password', { headers: { 'WWW-Authenticate': this.challenge(client) } });
    }
    if (basic) return { user: await this.logins.login(basic, client.remote, this.challenge(client)), via: 'basic' };
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (bearer && this.token) {
      try {
        const verified = await this.token.signer.verify(bearer[1]!);
        return { user: verified.user, via: 'bearer', access: verified.access };
      } catch (err) {
        if (!(err instanceof InvalidToken)) throw err;
        throw new Unauthorized(err.message, { headers: { 'WWW-Authenticate': this.challenge(client, undefined, 'invalid_token') } });
      }
    }
    throw new Unauthorized(`unsupported Authorization scheme; use ${this.token ? 'Bearer (from /token) or Basic' : 'Basic'}`, {
      headers: { 'WWW-Authenticate': this.challenge(client) },
    });
  }

  /**
   * Throws when the identity may not: UNAUTHORIZED (with a challenge naming the scope) when other
   * credentials or a token with more scope could help, DENIED when the user is known and the rules
   * say no.
   */
  async authorize(identity: Identity, need: Need, client: ClientRequest): Promise<void> {
    if (need.kind === 'admin') return this.authorizeAdmin(identity);
    if (need.kind === 'login' || need.kind === 'catalog') {
      const scope = need.kind === 'catalog' ? CATALOG_SCOPE : undefined;
      if (identity.via === 'none') throw this.unauthorized(client, scope, 'authentication required');
      if (scope && identity.via === 'bearer' && !claims(identity.access, scope.type, scope.name, '*')) {
        throw this.unauthorized(client, scope, 'the token does not grant the catalog', 'insufficient_scope');
      }
      return;
    }
    const { repo, action } = need;
    const allowed = (await this.policy()).actions(identity.user, repo).has(action);
    const scope: AccessClaim = { type: 'repository', name: repo, actions: action === 'push' ? ['pull', 'push'] : [action] };
    if (identity.via === 'bearer') {
      if (allowed && claimsAction(identity.access, repo, action)) return;
      if (allowed) throw this.unauthorized(client, scope, `the token does not grant ${action} on ${repo}`, 'insufficient_scope');
    } else if (allowed) {
      return;
    }
    if (identity.user === undefined) throw this.unauthorized(client, scope, 'authentication required');
    throw new Denied(`requested access to the resource is denied: ${identity.user} may not ${action} ${repo}`);
  }

  /** For listing: whether the identity's rules give it pull on a repository (tokens are scoped to the catalog). */
  async pullFilter(identity: Identity): Promise<(repo: string) => boolean> {
    const policy = await this.policy();
    return (repo) => policy.actions(identity.user, repo).has('pull');
  }

  /** For a cross-repository mount: pull on the source, by the rules and, with a token, by its claims. */
  async mayPull(identity: Identity, repo: string): Promise<boolean> {
    const allowed = (await this.policy()).actions(identity.user, repo).has('pull');
    return allowed && (identity.via !== 'bearer' || claimsAction(identity.access, repo, 'pull'));
  }

  /** The `/token` endpoint; only called when `tokenService` is true. */
  async issueToken(request: TokenRequest, client: ClientRequest): Promise<IssuedToken> {
    if (!this.token) throw new Error('the token service is off');
    return this.token.tokens.issue(request, client.remote);
  }

  /**
   * The admin API takes Basic credentials of a user listed under `admins` (every authenticated
   * user when there is no rules file). Tokens are scoped to repositories, so they do not open it.
   */
  private async authorizeAdmin(identity: Identity): Promise<void> {
    if (identity.via === 'none') throw new Unauthorized('authentication required', { headers: { 'WWW-Authenticate': BASIC_CHALLENGE } });
    if (identity.via === 'bearer') throw new Denied('the admin API takes Basic credentials (-u NAME), not tokens');
    if (!(await this.policy()).isAdmin(identity.user)) throw new Denied(`${identity.user} is not an admin: add ${identity.user} under admins in the access rules file, or run as an admin`);
  }

  private unauthorized(client: ClientRequest, scope: AccessClaim | undefined, message: string, error?: string): OciError {
    return new Unauthorized(message, { headers: { 'WWW-Authenticate': this.challenge(client, scope, error) } });
  }

  private challenge(client: ClientRequest, scope?: AccessClaim, error?: string): string {
    if (!this.token) return BASIC_CHALLENGE;
    const host = client.host !== undefined && SANE_HOST.test(client.host) ? client.host : 'localhost';
    const realm = this.token.realm ?? `${client.secure ? 'https' : 'http'}://${host}/token`;
    let header = `Bearer realm="${realm}",service="${this.token.service}"`;
    if (scope) header += `,scope="${formatScope(scope)}"`;
    if (error) header += `,error="${error}"`;
    return header;
  }
}

/** Push implies pull in tokens as in the rules; `*` grants every action. */
function claimsAction(access: AccessClaim[] | undefined, repo: string, action: Action): boolean {
  return claims(access, 'repository', repo, action) || (action === 'pull' && claims(access, 'repository', repo, 'push'));
}

function claims(access: AccessClaim[] | undefined, type: string, name: string, action: string): boolean {
  return (access ?? []).some((a) => a.type === type && a.name === name && (a.actions.includes(action) || a.actions.includes('*')));
}
