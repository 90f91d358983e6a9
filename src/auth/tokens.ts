import { randomBytes } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { SigningKey } from './token-key.js';

/** One entry of a token's `access` claim (and of a requested scope), as the Docker token spec writes it. */
export interface AccessClaim {
  type: string;
  name: string;
  actions: string[];
}

export interface IssuedToken {
  token: string;
  expiresIn: number;
  issuedAt: string;
}

export interface VerifiedToken {
  /** The token's `sub`; undefined for an anonymous token (`sub` empty). */
  user: string | undefined;
  access: AccessClaim[];
}

/** A token that is not ours, no longer valid, or not for this service; the reason goes to the challenge. */
export class InvalidToken extends Error {
  override name = 'InvalidToken';
}

// Clocks of replicas sharing a key drift a little; a token is not refused for a few seconds of it.
const CLOCK_TOLERANCE_S = 30;

/** Signs and verifies the registry's Bearer tokens (JWT, ES256), following distribution's token spec. */
export class TokenSigner {
  constructor(
    private readonly key: SigningKey,
    private readonly settings: { service: string; issuer: string; expirationMs: number },
    private readonly now: () => number = Date.now,
  ) {}

  async sign(user: string | undefined, access: AccessClaim[]): Promise<IssuedToken> {
    const issued = Math.floor(this.now() / 1000);
    const expiresIn = Math.max(1, Math.round(this.settings.expirationMs / 1000));
    const token = await new SignJWT({ access })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: this.key.kid })
      .setIssuer(this.settings.issuer)
      .setSubject(user ?? '')
      .setAudience(this.settings.service)
      .setIssuedAt(issued)
      .setNotBefore(issued)
      .setExpirationTime(issued + expiresIn)
      .setJti(randomBytes(12).toString('hex'))
      .sign(this.key.privateKey);
    return { token, expiresIn, issuedAt: new Date(issued * 1000).toISOString() };
  }

  /** Checks signature, algorithm, issuer, audience, expiry and not-before, and the shape of `access`. */
  async verify(token: string): Promise<VerifiedToken> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.key.publicKey, {
        algorithms: ['ES256'],
        issuer: this.settings.issuer,
        audience: this.settings.service,
        clockTolerance: CLOCK_TOLERANCE_S,
        currentDate: new Date(this.now()),
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      throw new InvalidToken(describeJoseError(err));
    }
    if (!isAccessList(payload.access)) throw new InvalidToken('the token has no valid access claim');
    return { user: payload.sub === '' ? undefined : payload.sub, access: payload.access };
  }
}

function describeJoseError(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'the token has expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `the token's ${err.claim} claim is not valid here`;
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'the token signature is not valid';
  return 'the token is malformed or not signed by this registry';
}

function isAccessList(value: unknown): value is AccessClaim[] {
  return (
    Array.isArray(value) &&
    value.every(
      (a) =>
        typeof a === 'object' && a !== null && typeof a.type === 'string' && typeof a.name === 'string' && Array.isArray(a.actions) && a.actions.every((x: unknown) => typeof x === 'string'),
    )
  );
}

/**
 * Parses `scope` values (`repository:team/app:pull,push`, `registry:catalog:*`); one parameter may
 * carry several scopes separated by spaces. Type and actions are cut off the ends, so a name with a
 * colon stays whole; malformed scopes are dropped (they get nothing, like an unknown repository).
 */
export function parseScopes(values: string[]): AccessClaim[] {
  const scopes: AccessClaim[] = [];
  for (const scope of values.flatMap((v) => v.split(' ')).filter(Boolean)) {
    const first = scope.indexOf(':');
    const last = scope.lastIndexOf(':');
    if (first <= 0 || last === first) continue;
    const actions = scope.slice(last + 1).split(',').filter(Boolean);
    scopes.push({ type: scope.slice(0, first), name: scope.slice(first + 1, last), actions });
  }
  return scopes;
}

/** The scope parameter of a challenge: `repository:name:pull,push`. */
export function formatScope(claim: AccessClaim): string {
  return `${claim.type}:${claim.name}:${claim.actions.join(',')}`;
}
