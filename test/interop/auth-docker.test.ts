// The docker CLI, through the real dockerd, against regctl's token service and access rules:
// `docker login` gets a token, push and pull follow Bearer challenges with scoped tokens, the rules
// refuse what they do not allow, and anonymous pulls of the public namespace work logged out.
// dockerd treats 127.0.0.0/8 as insecure, so the in-process server speaks plain HTTP on loopback.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, startAuthRegistry, type AuthRegistry } from '../auth/fixture.js';
import { expectError } from '../helpers/http.js';
import { buildScratchImage, imageId } from '../helpers/images.js';
import { INTEROP_TIMEOUT_MS, interopGate, run, tempDir, type TempDir } from '../helpers/interop.js';

const ready = interopGate('docker auth suite', ['docker']);

describe.runIf(ready)('docker CLI against regctl token auth and access rules', { timeout: INTEROP_TIMEOUT_MS }, () => {
  const suffix = randomBytes(4).toString('hex');
  let reg: AuthRegistry;
  let scratch: TempDir;
  let env: NodeJS.ProcessEnv;
  let host: string;
  let id: string | undefined;
  const tags: string[] = [];

  const docker = (...args: string[]) => run('docker', args, env);
  const login = (user: string, password = `${user}-pw`) => docker('login', host, '-u', user, '-p', password);

  beforeAll(async () => {
    reg = await startAuthRegistry({ token: true });
    host = reg.server.host;
    scratch = await tempDir('docker-auth');
    // Logins go to a Docker config of the test's own, not the machine's.
    env = { ...process.env, DOCKER_CONFIG: join(scratch.path, 'docker') };
    id = await buildScratchImage(`regctl-auth-${suffix}:built`, { layers: 2, layerSize: 32 * 1024 });
    tags.push(`regctl-auth-${suffix}:built`);
  }, INTEROP_TIMEOUT_MS);

  afterAll(async () => {
    if (id) await run('docker', ['rmi', '--force', ...tags]).catch(() => undefined);
    await reg?.close();
    await scratch?.remove();
  }, INTEROP_TIMEOUT_MS);

  it('refuses docker login with a wrong password', async () => {
    await expect(login('alice', 'wrong')).rejects.toThrow(/unauthorized|401/i);
  });

  it('logs in through the token service, pushes and pulls back the same image', async () => {
    expect(await login('alice')).toContain('Login Succeeded');
    const remote = `${host}/team-a/app-${suffix}:v1`;
    tags.push(remote);
    await docker('tag', id!, remote);
    expect(await docker('push', remote)).toMatch(/digest: sha256:[0-9a-f]{64}/);
    await docker('rmi', remote);
    await docker('pull', remote);
    expect(await imageId(remote)).toBe(id);
    // dockerd asked /token for scoped tokens, with Basic credentials, as the token spec has it.
    expect(reg.log.join('')).toMatch(new RegExp(`GET /token\\?.*scope=repository%3Ateam-a%2Fapp-${suffix}%3Apush%2Cpull.* 200 `));
  });

  it('is denied a push the rules do not allow', async () => {
    await login('mallory');
    const remote = `${host}/team-a/mallory-${suffix}:v1`;
    tags.push(remote);
    await docker('tag', id!, remote);
    await expect(docker('push', remote)).rejects.toThrow(/denied: requested access to the resource is denied: mallory may not push team-a\/mallory-/);
    await expect(docker('pull', `${host}/team-a/app-${suffix}:v1`)).rejects.toThrow(/pull access denied .*: denied: requested access to the resource is denied: mallory may not pull/);
  });

  it('pulls the public namespace logged out, and may not push there', async () => {
    await login('root');
    const remote = `${host}/public/app-${suffix}:v1`;
    tags.push(remote);
    await docker('tag', id!, remote);
    await docker('push', remote);
    await docker('logout', host);
    await docker('rmi', remote);
    await docker('pull', remote);
    expect(await imageId(remote)).toBe(id);
    await expect(docker('push', remote)).rejects.toThrow(/failed \(1\): unauthorized/);
    const text = reg.log.join('');
    for (const secret of ['alice-pw', 'mallory-pw', 'root-pw']) expect(text).not.toContain(secret);
  });

  it('still pulls the public namespace logged out while this address is locked out for failed logins', async () => {
    const own = await startAuthRegistry({ token: true, rateLimit: { failures: 2, windowMs: 60_000 } });
    try {
      const remote = `${own.server.host}/public/locked-${suffix}:v1`;
      tags.push(remote);
      await docker('login', own.server.host, '-u', 'root', '-p', 'root-pw');
      await docker('tag', id!, remote);
      await docker('push', remote);
      await docker('logout', own.server.host);
      await docker('rmi', remote);
      const guesser = own.as(undefined);
      for (let i = 0; i < 2; i++) expect((await guesser.get('/v2/', { headers: { authorization: basic('bob', 'guess') } })).status).toBe(401);
      expectError(await guesser.get('/v2/', { headers: { authorization: basic('bob') } }), 'TOOMANYREQUESTS');
      await docker('pull', remote);
      expect(await imageId(remote)).toBe(id);
    } finally {
      await own.close();
    }
  });
});
