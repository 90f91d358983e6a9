import { generateKeyPairSync } from 'node:crypto';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSigningKey, type SigningKey } from '../../src/auth/token-key.js';
import { InvalidToken, parseScopes, TokenSigner } from '../../src/auth/tokens.js';
import { tempDir, type TempDir } from '../helpers/interop.js';

let dir: TempDir;
let key: SigningKey;
beforeAll(async () => {
  dir = await tempDir('tokens');
  key = await loadSigningKey(join(dir.path, 'token', 'key.pem'));
});
afterAll(() => dir.remove());

const settings = { service: 'regctl', issuer: 'regctl-issuer', expirationMs: 300_000 };
const access = [{ type: 'repository', name: 'team-a/app', actions: ['pull'] }];

/** Re-signs nothing: changes one claim of a token and keeps its signature, as a forger would. */
function withClaim(token: string, change: Record<string, unknown>): string {
  const [header, payload, signature] = token.split('.');
  const claims = { ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), ...change };
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
}

describe('the signing key', () => {
  it('is generated once with mode 0600, then read back', async () => {
    const file = join(dir.path, 'token', 'key.pem');
    expect(key.created).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const again = await loadSigningKey(file);
    expect(again.created).toBe(false);
    expect(again.kid).toBe(key.kid);
  });

  it('refuses a key that cannot sign ES256, saying what to do', async () => {
    const rsa = join(dir.path, 'rsa.pem');
    await writeFile(rsa, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await expect(loadSigningKey(rsa)).rejects.toThrow(/must be an ECDSA P-256 key \(ES256\); remove it/);
    const junk = join(dir.path, 'junk.pem');
    await writeFile(junk, 'not a key');
    await expect(loadSigningKey(junk)).rejects.toThrow(/is not a PEM private key/);
  });
});

describe('TokenSigner', () => {
  it('signs tokens with the spec claims and verifies them', async () => {
    const now = Date.now();
    const signer = new TokenSigner(key, settings, () => now);
    const issued = await signer.sign('alice', access);
    expect(issued.expiresIn).toBe(300);
    const [header, payload] = issued.token.split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
    expect(header).toEqual({ alg: 'ES256', typ: 'JWT', kid: key.kid });
    expect(payload).toMatchObject({ iss: 'regctl-issuer', sub: 'alice', aud: 'regctl', access, exp: Math.floor(now / 1000) + 300 });
    expect(await signer.verify(issued.token)).toEqual({ user: 'alice', access });
    expect(await signer.verify((await signer.sign(undefined, [])).token)).toEqual({ user: undefined, access: [] });
  });

  it('refuses tampered, expired, foreign and misdirected tokens, saying which', async () => {
    let now = Date.now();
    const signer = new TokenSigner(key, settings, () => now);
    const { token } = await signer.sign('alice', access);
    const refusal = (t: string) => signer.verify(t).then(() => 'accepted', (e: unknown) => (e instanceof InvalidToken ? e.message : `other: ${e}`));

    expect(await refusal(withClaim(token, { access: [{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] }] }))).toBe('the token signature is not valid');
    expect(await refusal(withClaim(token, { sub: 'root' }))).toBe('the token signature is not valid');
    expect(await refusal(`${token.slice(0, -4)}AAAA`)).toBe('the token signature is not valid');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${token.split('.')[1]}.`;
    expect(await refusal(none)).toBe('the token is malformed or not signed by this registry');
    expect(await refusal('garbage')).toBe('the token is malformed or not signed by this registry');

    const otherKey = await loadSigningKey(join(dir.path, 'other.pem'));
    expect(await refusal((await new TokenSigner(otherKey, settings, () => now).sign('alice', access)).token)).toBe('the token signature is not valid');
    expect(await refusal((await new TokenSigner(key, { ...settings, service: 'elsewhere' }, () => now).sign('alice', access)).token)).toBe(`the token's aud claim is not valid here`);
    expect(await refusal((await new TokenSigner(key, { ...settings, issuer: 'mallory' }, () => now).sign('alice', access)).token)).toBe(`the token's iss claim is not valid here`);
    // A token from the future (nbf) beyond the clock tolerance.
    const early = await new TokenSigner(key, settings, () => now + 120_000).sign('alice', access);
    expect(await refusal(early.token)).toBe(`the token's nbf claim is not valid here`);

    now += 300_000 + 29_000;
    expect(await refusal(token)).toBe('accepted');
    now += 2_000;
    expect(await refusal(token)).toBe('the token has expired');
  });
});

describe('parseScopes', () => {
  it('reads repeated and space-joined scopes, names with colons, and drops malformed ones', () => {
    expect(parseScopes(['repository:a/b:pull,push', 'registry:catalog:* repository:c:pull', 'nonsense', ':x:y', 'repository:localhost:5000/x:pull'])).toEqual([
      { type: 'repository', name: 'a/b', actions: ['pull', 'push'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
      { type: 'repository', name: 'c', actions: ['pull'] },
      { type: 'repository', name: 'localhost:5000/x', actions: ['pull'] },
    ]);
  });
});
