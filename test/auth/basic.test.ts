import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BasicAuth, parseBasic, readBasic } from '../../src/auth/basic.js';
import { createServerAuth } from '../../src/auth/create.js';
import { hashPassword } from '../../src/auth/htpasswd.js';
import { createLogger } from '../../src/log/logger.js';
import { Registry } from '../../src/registry/registry.js';
import { createRegistryServer } from '../../src/server/app.js';
import { MemoryDriver } from '../../src/storage/memory.js';

let dir: string;
let aliceLine: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'regctl-auth-'));
  aliceLine = `alice:${await hashPassword('alice-pw')}\n`;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function capturingLogger(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ level: 'debug', format: 'text', write: (line) => lines.push(line) }), lines };
}

describe('parseBasic', () => {
  it('splits at the first colon and refuses what is not Basic', () => {
    expect(parseBasic(basic('u', 'a:b:c'))).toEqual({ user: 'u', password: 'a:b:c' });
    expect(parseBasic('basic ' + Buffer.from('u:p').toString('base64'))).toEqual({ user: 'u', password: 'p' });
    expect(parseBasic('Bearer abc')).toBeUndefined();
    expect(parseBasic(undefined)).toBeUndefined();
    expect(parseBasic(`Basic ${Buffer.from('nocolon').toString('base64')}`)).toBeUndefined();
  });

  it('reads an empty credential (skopeo without a login) as anonymous, and tells a broken Basic header from another scheme', () => {
    expect(readBasic('Basic Og==')).toBe('anonymous');
    expect(parseBasic('Basic Og==')).toBeUndefined();
    expect(readBasic(`Basic ${Buffer.from('nocolon').toString('base64')}`)).toBe('malformed');
    expect(readBasic(`Basic ${Buffer.from(':pw').toString('base64')}`)).toBe('malformed');
    expect(readBasic('Basic !!')).toBe('malformed');
    expect(readBasic('Bearer abc')).toBeUndefined();
    expect(readBasic(basic('u', ''))).toEqual({ user: 'u', password: '' });
  });
});

describe('BasicAuth', () => {
  it('accepts the right password, refuses others, and follows edits of the file', async () => {
    const file = join(dir, 'edits');
    await writeFile(file, aliceLine);
    const { logger, lines } = capturingLogger();
    const auth = await BasicAuth.open(file, logger);
    expect(await auth.verify('alice', 'alice-pw')).toBe(true);
    expect(await auth.verify('alice', 'nope')).toBe(false);
    expect(await auth.verify('mallory', 'alice-pw')).toBe(false);

    // A cached success must not outlive the password it was for.
    await writeFile(file, `alice:${await hashPassword('new-pw')}\nbob:${await hashPassword('bob-pw')}\n`);
    expect(await auth.verify('alice', 'alice-pw')).toBe(false);
    expect(await auth.verify('alice', 'new-pw')).toBe(true);
    expect(await auth.verify('bob', 'bob-pw')).toBe(true);
    expect(lines.join('')).toMatch(/users reloaded/);
    expect(lines.join('')).not.toMatch(/alice-pw|new-pw|bob-pw/);
  });

  it('answers repeated requests from the cache without bcrypt, until the entry expires', async () => {
    const file = join(dir, 'cache');
    await writeFile(file, aliceLine);
    let now = 1_000_000;
    const auth = await BasicAuth.open(file, capturingLogger().logger, () => now);
    expect(await auth.verify('alice', 'alice-pw')).toBe(true);
    const started = performance.now();
    for (let i = 0; i < 200; i++) await auth.verify('alice', 'alice-pw');
    // 200 bcrypt comparisons at cost 10 take seconds; cache hits take a stat each.
    expect(performance.now() - started).toBeLessThan(1000);
    now += 61_000;
    expect(await auth.verify('alice', 'alice-pw')).toBe(true);
  });

  it('warns about entries it will not accept, naming user, format and line, never hashes', async () => {
    const file = join(dir, 'mixed');
    await writeFile(file, `${aliceLine}bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n`);
    const { logger, lines } = capturingLogger();
    const auth = await BasicAuth.open(file, logger);
    expect(auth.userCount).toBe(1);
    const text = lines.join('');
    expect(text).toMatch(/htpasswd user "bob" uses SHA-1, which regctl does not accept.*line=2/);
    expect(text).not.toContain('W6ph5');
  });

  it('names broken lines by number, without a command built from their text', async () => {
    const file = join(dir, 'broken');
    await writeFile(file, `${aliceLine}garbage line\n:bar\n`);
    const { logger, lines } = capturingLogger();
    await BasicAuth.open(file, logger);
    const text = lines.join('');
    expect(text).toContain('htpasswd line 2 is not user:hash; fix or delete it (add users with: regctl user add NAME)');
    expect(text).toContain('htpasswd line 3 is not user:hash; fix or delete it (add users with: regctl user add NAME)');
    expect(text).not.toMatch(/regctl user add garbage|regctl user add \n|regctl user add $/m);
  });

  it('refuses everyone once the file is removed', async () => {
    const file = join(dir, 'removed');
    await writeFile(file, aliceLine);
    const { logger, lines } = capturingLogger();
    const auth = await BasicAuth.open(file, logger);
    await rm(file);
    expect(await auth.verify('alice', 'alice-pw')).toBe(false);
    expect(lines.join('')).toMatch(/htpasswd file is missing/);
  });
});

describe('the server with Basic auth', () => {
  it('answers 401 with the challenge and the spec error body on every endpoint, admin included', async () => {
    const file = join(dir, 'server');
    await writeFile(file, aliceLine);
    const auth = await createServerAuth({ htpasswd: { path: file }, rateLimit: { failures: 10, windowMs: 60_000 } }, { logger: capturingLogger().logger, configDir: dir });
    const server = createRegistryServer({ registry: new Registry({ driver: new MemoryDriver() }), logger: capturingLogger().logger, readOnly: false, deleteEnabled: true, auth });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (const [method, path] of [['GET', '/v2/'], ['GET', '/v2/_catalog'], ['GET', '/v2/a/tags/list'], ['POST', '/admin/gc']] as const) {
        const res = await request(`${url}${path}`, { method });
        expect(res.statusCode, `${method} ${path}`).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Basic realm="regctl"');
        expect(await res.body.json()).toEqual({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });
      }
      const wrong = await request(`${url}/v2/`, { headers: { authorization: basic('alice', 'x') } });
      expect(wrong.statusCode).toBe(401);
      expect(await wrong.body.json()).toEqual({ errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password' }] });
      const right = await request(`${url}/v2/`, { headers: { authorization: basic('alice', 'alice-pw') } });
      expect(right.statusCode).toBe(200);
      await right.body.dump();
    } finally {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    }
  });
});
