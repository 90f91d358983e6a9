import { OciError } from '../oci/errors.js';
import { NAME_PATTERN } from '../oci/reference.js';
import type { Logins, Credentials } from './logins.js';
import { ACTIONS, type AccessPolicy, type Action } from './rules.js';
import { parseScopes, type AccessClaim, type IssuedToken, type TokenSigner } from './tokens.js';

/** A request to `/token`, parsed from the query (GET) or the OAuth2 form (POST). */
export interface TokenRequest {
  service: string | null;
  scopes: string[];
  /** Absent = an anonymous token, which grants what the rules give `anonymous`. */
  credentials?: Credentials;
}

export const CATALOG_SCOPE: AccessClaim = { type: 'registry', name: 'catalog', actions: ['*'] };

/**
 * The built-in token service (distribution's token authentication spec): checks the password,
 * then grants each requested scope only the actions the access rules give that user: the
 * intersection, never more, and an empty `access` for what it may not touch (the registry then
 * answers 401/403 on use, as Docker Hub does).
 */
export class TokenService {
  constructor(
    private readonly service: string,
    private readonly signer: TokenSigner,
    private readonly logins: Logins,
    private readonly policy: () => Promise<AccessPolicy>,
    private readonly basicChallenge: string,
  ) {}

  async issue(request: TokenRequest, client: string | undefined): Promise<IssuedToken> {
    if (request.service !== null && request.service !== this.service) {
      throw new OciError('UNSUPPORTED', `this token service issues tokens for service "${this.service}" only`, { status: 400 });
    }
    const user = request.credentials ? await this.logins.login(request.credentials, client, this.basicChallenge) : undefined;
    const policy = await this.policy();
    const access = parseScopes(request.scopes).flatMap((scope) => grant(scope, user, policy));
    return this.signer.sign(user, access);
  }
}

function grant(scope: AccessClaim, user: string | undefined, policy: AccessPolicy): AccessClaim[] {
  // The catalog is filtered by pull permission when listed, so anyone may ask for it.
  if (scope.type === 'registry' && scope.name === 'catalog' && scope.actions.includes('*')) return [CATALOG_SCOPE];
  if (scope.type !== 'repository' || !NAME_PATTERN.test(scope.name)) return [];
  const allowed = policy.actions(user, scope.name);
  const wanted: readonly string[] = scope.actions.includes('*') ? ACTIONS : scope.actions;
  const actions = ACTIONS.filter((a: Action) => wanted.includes(a) && allowed.has(a));
  return actions.length ? [{ type: 'repository', name: scope.name, actions }] : [];
}
