// A Docker token issuer (distribution's "Token Authentication Specification") for tests: a real
// HTTP server on loopback that checks Basic credentials and signs ES256 JWTs whose `x5c` header
// carries a certificate the CNCF registry trusts through `auth.token.rootcertbundle`.
import { createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { certify, pemBody } from './tls.js';

/** Actions on resources matching `type` and `name` (exact, or a prefix followed by `*`). */
export interface Grant {
  type: string;
  name: string;
  /** `*` grants every action. */
  actions: string[];
}

/** The JWT `access` claim entries, as the spec writes them. */
export interface Access {
  type: string;
  name: string;
  actions: string[];
}

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  access: Access[];
}

export interface TokenRequest {
  /** Undefined for an anonymous request. */
  user?: string;
  service: string | null;
  scopes: string[];
}

export interface TokenServerOptions {
  service: string;
  issuer?: string;
  users: Record<string, { password: string; grants: Grant[] }>;
  /** What a request without credentials gets; nothing by default. */
  anonymous?: Grant[];
  /** Seconds; the answer's `expires_in`. */
  expiresIn?: number;
  /** Which field carries the token: both by default, as Docker Hub answers. */
  fields?: 'both' | 'token' | 'access_token';
}

export interface TokenServer {
  /** The realm: http://127.0.0.1:PORT/token */
  realm: string;
  service: string;
  issuer: string;
  /** PEM of the signing certificate: the registry's `rootcertbundle`. */
  certificate: string;
  /** Every request for a token, in order, refused ones included. */
  requests: TokenRequest[];
  /** The claims of a token this server signed and that is still valid, else undefined. */
  verify(token: string): TokenClaims | undefined;
  close(): Promise<void>;
}

// Registry repository names and the `catalog` of `registry:catalog:*`; anything else, a space or a
// second scope run together included, is no resource name and gets nothing.
const RESOURCE_NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const issuer = options.issuer ?? 'regctl-test-issuer';
  const signer = await certify({ commonName: issuer });
  const publicKey = createPublicKey(signer.privateKey);
  const header = base64url(JSON.stringify({ typ: 'JWT', alg: 'ES256', x5c: [pemBody(signer.cert)] }));
  const requests: TokenRequest[] = [];

  const issue = (user: string | undefined, scopes: string[]): string => {
    const grants = user === undefined ? (options.anonymous ?? []) : options.users[user]!.grants;
    const now = Math.floor(Date.now() / 1000);
    const claims: TokenClaims = {
      iss: issuer,
      sub: user ?? '',
      aud: options.service,
      exp: now + (options.expiresIn ?? 300),
      nbf: now - 1,
      iat: now,
      jti: randomBytes(12).toString('hex'),
      access: scopes.flatMap((scope) => granted(scope, grants)),
    };
    const payload = `${header}.${base64url(JSON.stringify(claims))}`;
    // JOSE wants ECDSA signatures as raw r||s, not DER.
    const signature = sign('sha256', Buffer.from(payload), { key: signer.privateKey, dsaEncoding: 'ieee-p1363' });
    return `${payload}.${signature.toString('base64url')}`;
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://token');
    if (req.method !== 'GET' || url.pathname !== '/token') return answer(res, 404, { errors: [{ code: 'NOT_FOUND' }] });
    const scopes = url.searchParams.getAll('scope');
    const basic = basicCredentials(req);
    requests.push({ user: basic?.user, service: url.searchParams.get('service'), scopes });
    if (url.searchParams.get('service') !== options.service) return answer(res, 400, { details: 'unknown service' });
    if (basic && options.users[basic.user]?.password !== basic.password) {
      res.setHeader('www-authenticate', 'Basic realm="token"');
      return answer(res, 401, { details: 'bad credentials' });
    }
    const token = issue(basic?.user, scopes);
    const body: Record<string, unknown> = { expires_in: options.expiresIn ?? 300, issued_at: new Date().toISOString() };
    if (options.fields !== 'access_token') body.token = token;
    if (options.fields !== 'token') body.access_token = token;
    answer(res, 200, body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    realm: `http://127.0.0.1:${port}/token`,
    service: options.service,
    issuer,
    certificate: signer.cert,
    requests,
    verify: (token) => verifyToken(token, publicKey, issuer, options.service),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `type:name:action[,action…]`; the name may hold colons (`host:port/repo`), so type and actions are cut off the ends. */
function parseScope(scope: string): Access | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last === first) return undefined;
  const name = scope.slice(first + 1, last);
  if (!RESOURCE_NAME.test(name)) return undefined;
  return { type: scope.slice(0, first), name, actions: scope.slice(last + 1).split(',') };
}

function granted(scope: string, grants: Grant[]): Access[] {
  const wanted = parseScope(scope);
  if (!wanted) return [];
  const matching = grants.filter((g) => g.type === wanted.type && (g.name.endsWith('*') ? wanted.name.startsWith(g.name.slice(0, -1)) : g.name === wanted.name));
  const actions = wanted.actions.filter((a) => matching.some((g) => g.actions.includes('*') || g.actions.includes(a)));
  return actions.length ? [{ type: wanted.type, name: wanted.name, actions }] : [];
}

function verifyToken(token: string, key: KeyObject, issuer: string, audience: string): TokenClaims | undefined {
  const [header, payload, signature] = token.split('.');
  if (!header || !payload || !signature) return undefined;
  const valid = verify('sha256', Buffer.from(`${header}.${payload}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
  if (!valid) return undefined;
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenClaims;
  const now = Date.now() / 1000;
  return claims.iss === issuer && claims.aud === audience && claims.exp > now && claims.nbf <= now ? claims : undefined;
}

function basicCredentials(req: IncomingMessage): { user: string; password: string } | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}
