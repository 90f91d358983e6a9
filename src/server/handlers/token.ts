import { parseBasic } from '../../auth/basic.js';
import type { TokenRequest } from '../../auth/token-service.js';
import { NotFound } from '../../oci/errors.js';
import { jsonReply } from '../respond.js';
import type { Handler, RequestContext } from '../types.js';
import { badRequest, readSmallBody } from './small-body.js';

/**
 * GET /token?service=…&scope=…[&account=…] with optional Basic credentials (what dockerd, skopeo
 * and regctl send), or POST /token with an OAuth2 password grant form (containerd and other
 * OAuth2-style clients). Both answer `{token, access_token, expires_in, issued_at}`.
 */
export const token: Handler = async (ctx) => {
  if (!ctx.issueToken) throw new NotFound('this registry has no token service (serve with --token-auth)');
  const request = ctx.method === 'POST' ? await fromForm(ctx) : fromQuery(ctx);
  const issued = await ctx.issueToken(request);
  // A token is a credential: no cache may keep it.
  return jsonReply(
    200,
    { token: issued.token, access_token: issued.token, expires_in: issued.expiresIn, issued_at: issued.issuedAt },
    { 'Cache-Control': 'no-store' },
  );
};

function fromQuery({ query, headers }: RequestContext): TokenRequest {
  const credentials = parseBasic(headers.authorization);
  return { service: query.get('service'), scopes: query.getAll('scope'), ...(credentials ? { credentials } : {}) };
}

async function fromForm(ctx: RequestContext): Promise<TokenRequest> {
  const type = String(ctx.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw badRequest('POST /token takes an application/x-www-form-urlencoded form');
  const form = new URLSearchParams(await readSmallBody(ctx.body));
  const grant = form.get('grant_type');
  // regctl issues no refresh tokens, so a client holding one got it elsewhere.
  if (grant !== 'password') throw badRequest(`unsupported grant_type "${grant ?? ''}"; this token service takes grant_type=password`);
  const user = form.get('username');
  const password = form.get('password');
  if (!user || password === null) throw badRequest('grant_type=password needs username and password');
  return { service: form.get('service'), scopes: form.getAll('scope'), credentials: { user, password } };
}
