// The built-in token service and Bearer auth, through the real server: what /token grants (never
// more than the rules), what the registry accepts and refuses with which challenge, tampered and
// expired tokens, the regctl client following the challenges, and secrets kept out of the log.
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChallenge } from '../../src/client/challenge.js';
import { RegistryClient } from '../../src/client/client.js';
import { AuthError } from '../../src/client/errors.js';
import { createServerAuth } from '../../src/auth/create.js';
import { silentLogger } from '../../src/log/logger.js';
import { OciError } from '../../src/oci/errors.js';
import { basic, startAuthRegistry, type AuthRegistry, type User } from '../auth/fixture.js';
import { buildImage, seedImage, type Image } from '../helpers/fixtures.js';
import { expectError, json, manifestPath, RegistryHttp, uploadsPath, type HttpResponse } from '../helpers/http.js';
import { tempDir } from '../helpers/interop.js';
import { startRegistry } from '../helpers/server.js';

let reg: AuthRegistry;
let now = Date.now();
let image: Image;
const SERVICE = 'regctl-test';

beforeAll(async () => {
  reg = await startAuthRegistry({ token: true, clock: () => now });
  image = buildImage();
  for (const repo of ['public/app', 'team-a/app']) await seedImage(reg.server.driver, repo, 'v1', image);
});
afterAll(() => reg?.close());

interface TokenAnswer {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
}

const claimsOf = (token: string): { sub: string; aud: string; iss: string; access: unknown[] } =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());

function tokenQuery(scopes: string[], service = SERVICE): string {
  return `/token?${new URLSearchParams([['service', service], ...scopes.map((s) => ['scope', s] as [string, string]), ['account', 'ignored']])}`;
}

async function getToken(user: User | undefined, scopes: string[]): Promise<string> {
  const res = await reg.as(user).get(tokenQuery(scopes));
  expect(res.status, res.body.toString()).toBe(200);
  return json<TokenAnswer>(res).token;
}

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

function challengeOf(res: HttpResponse): Record<string, string> {
  const challenge = parseChallenge(res.headers['www-authenticate']);
  expect(challenge?.scheme, res.request).toBe('bearer');
  return challenge!.params;
}

describe('GET /token', () => {
  it('grants the intersection of the requested scopes and the rules, in the spec answer', async () => {
    const res = await reg.as('bob').get(tokenQuery(['repository:team-a/app:pull,push,delete', 'repository:public/app:pull,push', 'repository:other/x:pull', 'registry:catalog:*']));
    expect(res.headers['cache-control']).toBe('no-store');
    const body = json<TokenAnswer>(res);
    expect(body.token).toBe(body.access_token);
    expect(body.expires_in).toBe(300);
    expect(new Date(body.issued_at).getTime()).toBeGreaterThan(0);
    expect(claimsOf(body.token)).toMatchObject({
      sub: 'bob',
      aud: SERVICE,
      iss: 'regctl-test-issuer',
      access: [
        { type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] },
        { type: 'repository', name: 'public/app', actions: ['pull'] },
        { type: 'registry', name: 'catalog', actions: ['*'] },
      ],
    });
  });

  it('gives anonymous clients a token with what the rules give anonymous', async () => {
    const token = await getToken(undefined, ['repository:public/app:pull,push', 'repository:team-a/app:pull']);
    expect(claimsOf(token)).toMatchObject({ sub: '', access: [{ type: 'repository', name: 'public/app', actions: ['pull'] }] });
  });

  it('refuses a wrong password with 401 and a Basic challenge, and another service with 400', async () => {
    const wrong = await reg.as(undefined).get(tokenQuery(['repository:team-a/app:pull']), { headers: { authorization: basic('bob', 'nope') } });
    expectError(wrong, 'UNAUTHORIZED');
    expect(wrong.headers['www-authenticate']).toBe('Basic realm="regctl"');
    expect((await reg.as('bob').get(tokenQuery([], 'someone-else'))).status).toBe(400);
  });
});

describe('failed logins at /token', () => {
  it('count with those on the API, per client, up to TOOMANYREQUESTS', async () => {
    const own = await startAuthRegistry({ token: true, rateLimit: { failures: 2, windowMs: 60_000 } });
    try {
      const anon = own.as(undefined);
      expect((await anon.get(tokenQuery([]), { headers: { authorization: basic('bob', 'guess') } })).status).toBe(401);
      expect((await anon.get('/v2/', { headers: { authorization: basic('bob', 'guess') } })).status).toBe(401);
      const limited = await anon.get(tokenQuery([]), { headers: { authorization: basic('bob') } });
      expectError(limited, 'TOOMANYREQUESTS');
      expect(limited.headers['retry-after']).toMatch(/^\d+$/);
      const form = new URLSearchParams({ grant_type: 'password', username: 'bob', password: 'bob-pw', service: SERVICE }).toString();
      expectError(await anon.send('POST', '/token', { body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 'TOOMANYREQUESTS');
      // Anonymous tokens need no password, so they are not refused: neither without a header
      // nor with an empty credential (skopeo) or an empty password, which are no login attempt.
      expect((await anon.get(tokenQuery(['repository:public/app:pull']))).status).toBe(200);
      const empty = await anon.get(tokenQuery(['repository:public/app:pull']), { headers: { authorization: 'Basic Og==' } });
      expect(claimsOf(json<TokenAnswer>(empty).token)).toMatchObject({ access: [{ name: 'public/app', actions: ['pull'] }] });
      expectError(await anon.get(tokenQuery([]), { headers: { authorization: basic('bob', '') } }), 'UNAUTHORIZED');
      // The client shows why it was refused, not just the status.
      const bob = new RegistryClient({ registry: own.server.host, scheme: 'http', retries: 0, credentials: async () => ({ username: 'bob', password: 'bob-pw' }) });
      try {
        const refused = (await bob.ping().catch((e: unknown) => e)) as Error;
        expect(refused).toBeInstanceOf(AuthError);
        expect(refused.message).toMatch(new RegExp(`^the token service at ${own.server.host} answered 429: too many failed logins from this address; try again in \\d+ s$`));
      } finally {
        await bob.close();
      }
    } finally {
      await own.close();
    }
  });
});

describe('POST /token (OAuth2 password grant)', () => {
  const post = (form: Record<string, string>, type = 'application/x-www-form-urlencoded') =>
    reg.as(undefined).send('POST', '/token', { body: new URLSearchParams(form).toString(), headers: { 'content-type': type } });

  it('issues the same tokens for a password grant, and refuses other grants and bodies', async () => {
    const res = await post({ grant_type: 'password', username: 'alice', password: 'alice-pw', service: SERVICE, scope: 'repository:team-a/app:delete', client_id: 'test' });
    expect(res.status).toBe(200);
    expect(claimsOf(json<TokenAnswer>(res).access_token)).toMatchObject({ sub: 'alice', access: [{ name: 'team-a/app', actions: ['delete'] }] });
    expectError(await post({ grant_type: 'password', username: 'alice', password: 'x', service: SERVICE }), 'UNAUTHORIZED');
    expect((await post({ grant_type: 'refresh_token', refresh_token: 'abc', service: SERVICE })).status).toBe(400);
    expect((await post({ grant_type: 'password', username: 'alice', password: 'alice-pw' }, 'application/json')).status).toBe(400);
  });
});

describe('the registry with token auth', () => {
  it('challenges with realm, service and the scope the request needs', async () => {
    const anon = reg.as(undefined);
    const ping = await anon.get('/v2/');
    expectError(ping, 'UNAUTHORIZED');
    const origin = new URL(reg.server.url);
    expect(challengeOf(ping)).toEqual({ realm: `http://${origin.host}/token`, service: SERVICE });
    expect(challengeOf(await anon.get(manifestPath('team-a/app', 'v1')))).toMatchObject({ scope: 'repository:team-a/app:pull' });
    expect(challengeOf(await anon.send('POST', uploadsPath('team-a/app')))).toMatchObject({ scope: 'repository:team-a/app:pull,push' });
    expect(challengeOf(await anon.get('/v2/_catalog'))).toMatchObject({ scope: 'registry:catalog:*' });
  });

  it('serves what the token grants, asks for more scope when the rules would allow it, and denies when they would not', async () => {
    const pullOnly = await getToken('bob', ['repository:team-a/app:pull']);
    const bob = reg.as(undefined);
    expect((await bob.get('/v2/', bearer(pullOnly))).status).toBe(200);
    expect((await bob.get(manifestPath('team-a/app', 'v1'), bearer(pullOnly))).status).toBe(200);
    const more = await bob.send('POST', uploadsPath('team-a/app'), bearer(pullOnly));
    expectError(more, 'UNAUTHORIZED');
    expect(challengeOf(more)).toMatchObject({ scope: 'repository:team-a/app:pull,push', error: 'insufficient_scope' });
    // Push implies pull for tokens too.
    const pushOnly = await getToken('bob', ['repository:team-a/app:push']);
    expect((await bob.head(manifestPath('team-a/app', 'v1'), bearer(pushOnly))).status).toBe(200);
    expect((await bob.send('POST', uploadsPath('team-a/app'), bearer(pushOnly))).status).toBe(202);

    const mallory = await getToken('mallory', ['repository:team-a/app:pull']);
    expect(claimsOf(mallory).access).toEqual([]);
    expect(expectError(await bob.get(manifestPath('team-a/app', 'v1'), bearer(mallory)), 'DENIED').message).toMatch(/mallory may not pull team-a\/app/);
    // A token for one repository opens no other.
    expect(challengeOf(await bob.get(manifestPath('public/app', 'v1'), bearer(pullOnly)))).toMatchObject({ error: 'insufficient_scope' });
  });

  it('lets an anonymous token pull a public namespace and nothing more', async () => {
    const token = await getToken(undefined, ['repository:public/app:pull,push']);
    const anon = reg.as(undefined);
    expect((await anon.get(manifestPath('public/app', 'v1'), bearer(token))).status).toBe(200);
    const push = await anon.send('POST', uploadsPath('public/app'), bearer(token));
    expectError(push, 'UNAUTHORIZED');
    expect(challengeOf(push)).toMatchObject({ scope: 'repository:public/app:pull,push' });
  });

  it('filters the catalog for a token holding the catalog scope', async () => {
    const token = await getToken('mallory', ['registry:catalog:*']);
    expect(json(await reg.as(undefined).get('/v2/_catalog', bearer(token))).repositories).toEqual(['public/app']);
    const without = await reg.as(undefined).get('/v2/_catalog', bearer(await getToken('mallory', [])));
    expect(challengeOf(without)).toMatchObject({ scope: 'registry:catalog:*', error: 'insufficient_scope' });
  });

  it('refuses tampered tokens with invalid_token: signature, subject, access, audience', async () => {
    const token = await getToken('bob', ['repository:team-a/app:pull']);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const forge = (change: Record<string, unknown>) =>
      `${header}.${Buffer.from(JSON.stringify({ ...claimsOf(token), ...change })).toString('base64url')}.${signature}`;
    for (const forged of [
      forge({ access: [{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push', 'delete'] }] }),
      forge({ sub: 'alice' }),
      forge({ aud: 'elsewhere' }),
      forge({ exp: Math.floor(now / 1000) + 86_400 }),
      `${header}.${payload}.${signature.slice(0, -6)}AAAAAA`,
      `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`,
    ]) {
      const res = await reg.as(undefined).get(manifestPath('team-a/app', 'v1'), bearer(forged));
      expectError(res, 'UNAUTHORIZED');
      expect(challengeOf(res)).toMatchObject({ error: 'invalid_token' });
    }
  });

  it('refuses an expired token, so clients fetch a new one', async () => {
    const token = await getToken('bob', ['repository:team-a/app:pull']);
    now += 300_000 + 31_000;
    try {
      const res = await reg.as(undefined).get(manifestPath('team-a/app', 'v1'), bearer(token));
      expect(expectError(res, 'UNAUTHORIZED').message).toBe('the token has expired');
    } finally {
      now = Date.now();
    }
  });

  it('derives the realm from a sane Host header only, and takes a configured realm as is', async () => {
    const odd = await reg.as(undefined).get('/v2/', { headers: { host: 'evil.example",x="y' } });
    expect(challengeOf(odd)).toEqual({ realm: 'http://localhost/token', service: SERVICE });
    const proxied = await reg.as(undefined).get('/v2/', { headers: { host: 'registry.example.com' } });
    expect(challengeOf(proxied).realm).toBe('http://registry.example.com/token');
    const dir = await tempDir('realm');
    const auth = await createServerAuth(
      {
        rateLimit: { failures: 10, windowMs: 60_000 },
        htpasswd: { path: join(reg.dir.path, 'htpasswd') },
        token: { realm: 'https://auth.example.com/token', service: 'svc', issuer: 'iss', expirationMs: 60_000 },
      },
      { logger: silentLogger, configDir: dir.path },
    );
    const own = await startRegistry({ driver: 'memory', auth });
    const http = new RegistryHttp(own.url);
    try {
      expect(challengeOf(await http.get('/v2/'))).toEqual({ realm: 'https://auth.example.com/token', service: 'svc' });
    } finally {
      await http.close();
      await own.close();
      await dir.remove();
    }
  });

  it('still takes Basic credentials on the API', async () => {
    expect((await reg.as('bob').get(manifestPath('team-a/app', 'v1'))).status).toBe(200);
    expectError(await reg.as('mallory').get(manifestPath('team-a/app', 'v1')), 'DENIED');
  });
});

describe('the regctl client through the token service', () => {
  const client = (user?: User) =>
    new RegistryClient({ registry: reg.server.host, scheme: 'http', credentials: async () => (user ? { username: user, password: `${user}-pw` } : undefined) });

  it('pushes and pulls as a user the rules allow, following the Bearer challenges', async () => {
    const bob = client('bob');
    try {
      const pushed = buildImage();
      for (const blob of pushed.blobs) await bob.pushBlob('team-a/pushed', blob.digest, blob.size, () => Readable.from([blob.data]));
      await bob.putManifest('team-a/pushed', 'v1', pushed.manifest.body, pushed.manifest.mediaType);
      expect((await bob.getManifest('team-a/pushed', 'v1')).digest).toBe(pushed.manifest.digest);
      expect(await bob.catalog()).toContain('team-a/pushed');
      // The mount source is asked for in the same token.
      expect(await bob.mountBlob('team-a/mounted', image.blobs[1]!.digest, 'public/app')).toBe(true);
    } finally {
      await bob.close();
    }
  });

  it('pulls a public namespace anonymously, and reports a clear refusal for the rest', async () => {
    const anon = client();
    const mallory = client('mallory');
    try {
      expect((await anon.getManifest('public/app', 'v1')).digest).toBe(image.manifest.digest);
      await expect(anon.getManifest('team-a/app', 'v1')).rejects.toThrow(AuthError);
      await expect(anon.getManifest('team-a/app', 'v1')).rejects.toThrow(/requires a login/);
      const denied = await mallory.getManifest('team-a/app', 'v1').catch((e: unknown) => e);
      expect(denied).toBeInstanceOf(OciError);
      expect(denied).toMatchObject({ code: 'DENIED', status: 403 });
    } finally {
      await anon.close();
      await mallory.close();
    }
  });

  it('says the token service refused the password', async () => {
    const wrong = new RegistryClient({ registry: reg.server.host, scheme: 'http', credentials: async () => ({ username: 'bob', password: 'nope' }) });
    try {
      await expect(wrong.getManifest('team-a/app', 'v1')).rejects.toThrow(/the token service at .* refused the credentials for bob/);
    } finally {
      await wrong.close();
    }
  });
});

describe('the log', () => {
  it('holds no password, token or Basic credential, and redacts secrets a client puts in a URL', async () => {
    await reg.as(undefined).get('/token?service=regctl-test&password=hunter2&refresh_token=r3fr3sh');
    const token = await getToken('bob', []);
    const text = reg.log.join('');
    expect(text).toMatch(/GET \/token\?service=regctl-test&scope=repository%3Ateam-a%2Fapp/);
    expect(text).toMatch(/password=REDACTED&refresh_token=REDACTED/);
    for (const secret of ['bob-pw', 'alice-pw', 'mallory-pw', 'hunter2', 'r3fr3sh', token.split('.')[2]!, Buffer.from('bob:bob-pw').toString('base64')]) {
      expect(text).not.toContain(secret);
    }
  });
});
