// Basic auth with access rules, through the real server: who gets 401, who gets 403, what the
// catalog shows, what a mount may reach, who may run the admin API, and that no path trick gets a
// name past the rules.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerAuth } from '../../src/auth/create.js';
import { RegistryClient } from '../../src/client/client.js';
import { createLogger, silentLogger } from '../../src/log/logger.js';
import { basic, RULES, startAuthRegistry, type AuthRegistry } from '../auth/fixture.js';
import { buildImage, randomBlob, seedImage, type Image } from '../helpers/fixtures.js';
import { expectError, json, manifestPath, monolithicPost, pushImage, uploadsPath } from '../helpers/http.js';
import { tempDir } from '../helpers/interop.js';

let reg: AuthRegistry;
const images: Record<string, Image> = {};
const REPOS = ['public/app', 'public/internal/tool', 'team-a/app', 'team-a/lib', 'other/x'];

beforeAll(async () => {
  reg = await startAuthRegistry();
  for (const repo of REPOS) {
    images[repo] = buildImage();
    await seedImage(reg.server.driver, repo, 'v1', images[repo]!);
  }
});
afterAll(() => reg?.close());

describe('access rules over Basic auth', () => {
  it('lets anonymous clients pull a public namespace, and answers 401 with the challenge to the rest', async () => {
    const anon = reg.as(undefined);
    expect((await anon.get(manifestPath('public/app', 'v1'))).status).toBe(200);
    expect((await anon.get(`/v2/public/app/blobs/${images['public/app']!.blobs[0]!.digest}`)).status).toBe(200);
    for (const res of [
      await anon.send('POST', uploadsPath('public/app')),
      await anon.get(manifestPath('team-a/app', 'v1')),
      await anon.get(manifestPath('public/internal/tool', 'v1')),
      await anon.get('/v2/'),
      await anon.get('/v2/_catalog'),
      await anon.get('/v2/no/such/endpoint'),
    ]) {
      expect(res.headers['www-authenticate'], res.request).toBe('Basic realm="regctl"');
      expectError(res, 'UNAUTHORIZED');
    }
  });

  it('answers 403 DENIED to a user the rules do not allow, and lets through those they do', async () => {
    const mallory = reg.as('mallory');
    expect((await mallory.get('/v2/')).status).toBe(200);
    expect((await mallory.get(manifestPath('public/app', 'v1'))).status).toBe(200);
    const denied = expectError(await mallory.get(manifestPath('team-a/app', 'v1')), 'DENIED');
    expect(denied.message).toBe('requested access to the resource is denied: mallory may not pull team-a/app');
    expectError(await mallory.send('POST', uploadsPath('public/app')), 'DENIED');
    // Unknown repositories answer the same as forbidden ones: no probing for names.
    expectError(await mallory.get(manifestPath('team-a/does-not-exist', 'v1')), 'DENIED');

    const bob = reg.as('bob');
    expect((await bob.get(manifestPath('team-a/app', 'v1'))).status).toBe(200);
    expect((await bob.get(manifestPath('public/internal/tool', 'v1'))).status).toBe(200);
    await pushImage(bob, 'team-a/new', buildImage(), 'v1');
    const digest = images['team-a/lib']!.manifest.digest;
    expectError(await bob.send('DELETE', manifestPath('team-a/lib', digest)), 'DENIED');
    expect((await reg.as('alice').send('DELETE', manifestPath('team-a/lib', digest))).status).toBe(202);
  });

  it('refuses a wrong password with 401 whatever the repository', async () => {
    for (const repo of ['public/app', 'team-a/app']) {
      const wrong = await reg.as(undefined).get(manifestPath(repo, 'v1'), { headers: { authorization: basic('alice', 'nope') } });
      expect(expectError(wrong, 'UNAUTHORIZED').message).toBe('invalid username or password');
    }
  });

  it('lists in _catalog only what the user may pull, and pages over that list', async () => {
    const names = async (user: 'mallory' | 'bob' | 'root', query = ''): Promise<string[]> => json(await reg.as(user).get(`/v2/_catalog${query}`)).repositories;
    expect(await names('mallory')).toEqual(['public/app']);
    expect(await names('bob')).toEqual(['public/app', 'public/internal/tool', 'team-a/app', 'team-a/lib', 'team-a/new']);
    const first = await reg.as('bob').get('/v2/_catalog?n=2');
    expect(json(first).repositories).toEqual(['public/app', 'public/internal/tool']);
    expect(first.headers.link).toBe('</v2/_catalog?last=public%2Finternal%2Ftool&n=2>; rel="next"');
    expect(await names('bob', '?n=2&last=public%2Finternal%2Ftool')).toEqual(['team-a/app', 'team-a/lib']);
    // root is an admin, not a reader of everything: admins run the admin API only.
    expect(await names('root')).toEqual(['public/app']);
  });

  it('mounts a blob only from a repository the user may pull; otherwise it answers as a plain upload', async () => {
    const mallory = reg.as('mallory');
    const secret = images['team-a/app']!.blobs[1]!.digest;
    const open = images['public/app']!.blobs[1]!.digest;
    const fromSecret = await mallory.send('POST', uploadsPath('mallory/x', `?mount=${secret}&from=team-a/app`));
    expect(fromSecret.status).toBe(202);
    const noFrom = await mallory.send('POST', uploadsPath('mallory/x', `?mount=${secret}`));
    expect(noFrom.status).toBe(202);
    const badFrom = await mallory.send('POST', uploadsPath('mallory/x', `?mount=${secret}&from=team-a/../team-a/app`));
    expect(badFrom.status).toBe(202);
    // Nothing was linked: the blob is unknown in mallory's repository.
    expect((await mallory.head(`/v2/mallory/x/blobs/${secret}`)).status).toBe(404);
    const fromPublic = await mallory.send('POST', uploadsPath('mallory/x', `?mount=${open}&from=public/app`));
    expect(fromPublic.status).toBe(201);
    expect((await reg.as('bob').send('POST', uploadsPath('team-a/app', `?mount=${open}&from=public/app`))).status).toBe(201);
  });

  it('takes an empty Basic credential (what skopeo sends without a login) as anonymous', async () => {
    const empty = { headers: { authorization: 'Basic Og==' } };
    const anon = reg.as(undefined);
    expect((await anon.get(manifestPath('public/app', 'v1'), empty)).status).toBe(200);
    const refused = await anon.get(manifestPath('team-a/app', 'v1'), empty);
    expect(expectError(refused, 'UNAUTHORIZED').message).toBe('authentication required');
    expect(refused.headers['www-authenticate']).toBe('Basic realm="regctl"');
    // A Basic header that is not user:password is named as such, not as the wrong scheme.
    const broken = await anon.get('/v2/', { headers: { authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` } });
    expect(expectError(broken, 'UNAUTHORIZED').message).toBe('malformed Basic credentials: send base64 of user:password');
  });

  it('gives the regctl client the reason of a 403 to a HEAD, which has no body to carry it', async () => {
    const mallory = new RegistryClient({ registry: reg.server.host, scheme: 'http', credentials: async () => ({ username: 'mallory', password: 'mallory-pw' }) });
    try {
      const denied = await mallory.headBlob('team-a/app', images['team-a/app']!.blobs[0]!.digest).catch((e: unknown) => e);
      expect(denied).toMatchObject({ code: 'DENIED', message: 'requested access to the resource is denied: mallory may not pull team-a/app' });
    } finally {
      await mallory.close();
    }
  });

  it('serves no /token without the token service', async () => {
    expect(expectError(await reg.as(undefined).get('/token?service=regctl'), 'NOT_FOUND').message).toMatch(/no token service/);
  });

  it('lets only admins run the admin API', async () => {
    const gc = (user: 'root' | 'alice' | undefined) => reg.as(user).send('POST', '/admin/gc', { body: '{"dryRun":true}', headers: { 'content-type': 'application/json' } });
    expect((await gc('root')).status).toBe(200);
    expect(expectError(await gc('alice'), 'DENIED').message).toBe('alice is not an admin: add alice under admins in the access rules file, or run as an admin');
    const anon = await gc(undefined);
    expectError(anon, 'UNAUTHORIZED');
    expect(anon.headers['www-authenticate']).toBe('Basic realm="regctl"');
  });
});

describe('path tricks under access rules', () => {
  // Each would reach team-a/app if a name were normalised after the rules saw it, or matched raw.
  const TRICKS = [
    '/v2/public/../team-a/app/manifests/v1',
    '/v2/public/%2e%2e/team-a/app/manifests/v1',
    '/v2/public/%2E%2E/team-a/app/manifests/v1',
    '/v2/public/app/../../team-a/app/manifests/v1',
    '/v2/public%2f..%2fteam-a%2fapp/manifests/v1',
    '/v2/team-a%2fapp/manifests/v1',
    '/v2/public//team-a/app/manifests/v1',
    '/v2//team-a/app/manifests/v1',
    '/v2/public/./team-a/app/manifests/v1',
    '/v2/Team-A/app/manifests/v1',
    '/v2/PUBLIC/app/manifests/v1',
    '/v2/public/App/manifests/v1',
    '/v2/public/app%00/manifests/v1',
    '/v2/public/app%20/manifests/v1',
    '/v2/public/app%2F..%2F..%2Fteam-a%2Fapp/manifests/v1',
  ];

  it('never serves a forbidden repository, to anonymous or to a user with public access only', async () => {
    for (const user of [undefined, 'mallory'] as const) {
      const http = reg.as(user);
      for (const path of TRICKS) {
        // Refused as a name before any rule sees it, the same for everyone: no 200, and no 401/403 that would tell names apart.
        expectError(await http.get(path), 'NAME_INVALID');
      }
    }
  });

  it('matches globs against the canonical name only: a case or encoding variant is not another name', async () => {
    const bob = reg.as('bob');
    // Percent-encoding a plain character does not make a valid name: the tag stays unreadable by a back door.
    expectError(await bob.get('/v2/team-%61/app/manifests/v1'), 'NAME_INVALID');
    expectError(await reg.as('mallory').send('PUT', '/v2/mallory/../team-a/app/manifests/v2'), 'NAME_INVALID');
  });
});

describe('rules file changes', () => {
  it('follows edits of the file, and keeps the last good rules when an edit is broken', async () => {
    const own = await startAuthRegistry();
    try {
      await seedImage(own.server.driver, 'team-a/app', 'v1', buildImage());
      const mallory = own.as('mallory');
      expectError(await mallory.get(manifestPath('team-a/app', 'v1')), 'DENIED');
      await writeFile(own.rulesFile, `${RULES}  - repositories: ["team-a/app"]\n    pull: [mallory]\n`.replace('  - repositories: ["team-a/**"]', '  - repositories: ["team-a/app"]\n    pull: [mallory]\n  - repositories: ["team-a/**"]'));
      expect((await mallory.get(manifestPath('team-a/app', 'v1'))).status).toBe(200);
      await writeFile(own.rulesFile, 'rules:\n  - repositories: ["team-a/**"]\n    pul: [mallory]\n');
      expect((await mallory.get(manifestPath('team-a/app', 'v1'))).status).toBe(200);
      const text = own.log.join('');
      expect(text).toMatch(/access rules file changed; rules reloaded/);
      expect(text).toMatch(/cannot reload .*access\.yaml; the previous contents stay in force.*line 3: unknown key/);
    } finally {
      await own.close();
    }
  });
});

describe('failed logins', () => {
  it('are limited per client address: TOOMANYREQUESTS with Retry-After, and no success resets a count', async () => {
    const own = await startAuthRegistry({ rateLimit: { failures: 3, windowMs: 60_000 } });
    // A second loopback address is a second client.
    try {
      const a = own.as(undefined);
      const attempt = (password: string) => a.get('/v2/', { headers: { authorization: basic('alice', password) } });
      expect((await attempt('guess-1')).status).toBe(401);
      expect((await attempt('alice-pw')).status).toBe(200);
      expect((await attempt('guess-2')).status).toBe(401);
      // Another client's success leaves this one's count alone.
      expect(await fromOtherAddress(own.server.url, basic('bob'))).toBe(200);
      expect((await attempt('guess-3')).status).toBe(401);
      const limited = await attempt('alice-pw');
      expectError(limited, 'TOOMANYREQUESTS');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(50);
      // The other address is still welcome, and its own failures count for it alone.
      expect(await fromOtherAddress(own.server.url, basic('bob'))).toBe(200);
      expect(own.log.join('')).toMatch(/failed login.*user=alice.*remote=127\.0\.0\.1/);
    } finally {
      await own.close();
    }
  });

  it('never write a password to the log', async () => {
    const text = reg.log.join('');
    expect(text).toMatch(/GET \/v2\/_catalog/);
    for (const secret of ['alice-pw', 'bob-pw', 'mallory-pw', 'root-pw', 'nope', Buffer.from('alice:nope').toString('base64')]) expect(text).not.toContain(secret);
  });
});

describe('createServerAuth', () => {
  const rateLimit = { failures: 10, windowMs: 60_000 };

  it('refuses a token service nobody could log in to, and names directories given as files', async () => {
    const dir = await tempDir('auth-setup');
    try {
      const deps = { logger: silentLogger, configDir: dir.path };
      const token = { service: 's', issuer: 'i', expirationMs: 60_000 };
      await expect(createServerAuth({ rateLimit, token }, deps)).rejects.toThrow(
        'the token service needs users to log in: add --htpasswd FILE (create it with regctl user add NAME --htpasswd FILE)',
      );
      await expect(createServerAuth({ rateLimit, htpasswd: { path: dir.path } }, deps)).rejects.toMatchObject({
        message: `${dir.path} is a directory: --htpasswd takes the htpasswd file itself, e.g. ${join(dir.path, 'htpasswd')}`,
        missing: false,
      });
      await expect(createServerAuth({ rateLimit, accessRulesFile: dir.path }, deps)).rejects.toThrow(
        `${dir.path} is a directory: --access-rules takes the access rules file itself, e.g. ${join(dir.path, 'access.yaml')}`,
      );
      await expect(createServerAuth({ rateLimit, accessRulesFile: join(dir.path, 'nofile.yaml') }, deps)).rejects.toMatchObject({
        message: `no access rules file at ${join(dir.path, 'nofile.yaml')}: write one (see "Access rules" in the README) or correct the --access-rules path`,
        missing: true,
      });
      await writeFile(join(dir.path, 'broken.yaml'), 'rules:\n  - repositories: [a]\n pull: [x]\n');
      await expect(createServerAuth({ rateLimit, accessRulesFile: join(dir.path, 'broken.yaml') }, deps)).rejects.toThrow(
        /^.*broken\.yaml line 3: [^\n]*[^:]; fix the YAML there \(indent with spaces, quote values holding ": " or "#"\)$/,
      );
    } finally {
      await dir.remove();
    }
  });

  it('warns of rules naming users the htpasswd file lacks (at load and on reload) and of a file without rules', async () => {
    const own = await startAuthRegistry({ rules: RULES.replace('delete: [alice]', 'delete: [alcie]') });
    try {
      const warning = (user: string, line: number) =>
        `the access rules name user "${user}" (line ${line}), who is not in the htpasswd file ${join(own.dir.path, 'htpasswd')}: a typo? or add them with regctl user add ${user} --htpasswd ${join(own.dir.path, 'htpasswd')}`;
      expect(own.log.join('')).toContain(warning('alcie', 14));
      await writeFile(own.rulesFile, `${RULES}\n`.replace('devs: [alice, bob]', 'devs: [alice, bbo]'));
      expect((await own.as('alice').get(manifestPath('team-a/x', 'v1'))).status).toBe(404);
      expect(own.log.join('')).toContain(warning('bbo', 3));
      await writeFile(own.rulesFile, '# nothing yet\n');
      expectError(await own.as('alice').get(manifestPath('team-a/x', 'v1')), 'DENIED');
      expect(own.log.join('')).toMatch(/the access rules file has no rules: every repository is private to everybody; add rules under "rules:"/);
      expect(own.log.join('')).not.toMatch(/user "(alice|bob|root|mallory)"/);
    } finally {
      await own.close();
    }
  });

  it('is undefined for an open registry, and stops start-up with one line for a missing or broken file', async () => {
    const dir = await tempDir('auth-setup');
    try {
      const deps = { logger: silentLogger, configDir: dir.path };
      expect(await createServerAuth({ rateLimit }, deps)).toBeUndefined();
      await expect(createServerAuth({ rateLimit, htpasswd: { path: join(dir.path, 'nope') } }, deps)).rejects.toThrow(
        `no htpasswd file at ${join(dir.path, 'nope')}: add a user with regctl user add NAME --htpasswd ${join(dir.path, 'nope')}`,
      );
      await expect(createServerAuth({ rateLimit, accessRulesFile: join(dir.path, 'rules.yaml') }, deps)).rejects.toThrow(`no access rules file at ${join(dir.path, 'rules.yaml')}`);
      await writeFile(join(dir.path, 'rules.yaml'), 'rules:\n  - repositories: [a]\n    push: ["@nobody"]\n');
      await expect(createServerAuth({ rateLimit, accessRulesFile: join(dir.path, 'rules.yaml') }, deps)).rejects.toThrow(/^.*rules\.yaml line 3: push names group "@nobody"/);
      const lines: string[] = [];
      await createServerAuth({ rateLimit, accessRulesFile: join(dir.path, 'none.yaml') }, deps).catch(() => undefined);
      await writeFile(join(dir.path, 'ok.yaml'), RULES);
      const logger = createLogger({ level: 'info', format: 'text', write: (l) => lines.push(l) });
      expect(await createServerAuth({ rateLimit, accessRulesFile: join(dir.path, 'ok.yaml') }, { logger, configDir: dir.path })).toBeDefined();
      expect(lines.join('')).toMatch(/no htpasswd file: nobody can log in/);
    } finally {
      await dir.remove();
    }
  });
});

// monolithicPost and randomBlob keep a push short where only the answer matters.
describe('pushes under the rules', () => {
  it('lets a pusher upload, and refuses others before the body is read', async () => {
    const blob = randomBlob(64);
    expect((await monolithicPost(reg.as('bob'), 'team-a/app', blob)).status).toBe(201);
    expectError(await monolithicPost(reg.as('mallory'), 'team-a/app', blob), 'DENIED');
    expectError(await monolithicPost(reg.as(undefined), 'team-a/app', blob), 'UNAUTHORIZED');
  });
});

/** GET /v2/ from 127.0.0.2, a second client address on loopback (undici cannot pick the source address). */
function fromOtherAddress(url: string, authorization: string): Promise<number | undefined> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    request({ host: hostname, port, path: '/v2/', localAddress: '127.0.0.2', headers: { authorization } }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode));
    })
      .once('error', reject)
      .end();
  });
}
