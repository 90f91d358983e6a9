// Logins shared with `docker login`: the config file's `auths`, the environment, and which wins.
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialsFromEnv } from '../../src/client/connect.js';
import { credentialChain, dockerConfigPath, DockerConfigStore } from '../../src/client/credentials.js';

describe('DockerConfigStore', () => {
  let dir: string;
  let n = 0;
  /** A store on a config file of its own, holding `content` if given. */
  async function store(content?: unknown): Promise<DockerConfigStore> {
    const home = join(dir, `docker-${n++}`);
    if (content !== undefined) {
      await mkdir(home);
      await writeFile(join(home, 'config.json'), JSON.stringify(content));
    }
    return new DockerConfigStore(join(home, 'config.json'));
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'regctl-credentials-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stores a login as Docker does, readable only by its owner, keeping what else the file holds', async () => {
    const s = await store({ credsStore: 'desktop', auths: { 'other.example': { auth: 'eDp5' } } });
    await s.set('reg.example:5000', { username: 'alice', password: 'pa:ss' });
    const file = JSON.parse(await readFile(s.path, 'utf8')) as Record<string, unknown>;
    expect(file).toEqual({
      credsStore: 'desktop',
      auths: { 'other.example': { auth: 'eDp5' }, 'reg.example:5000': { auth: Buffer.from('alice:pa:ss').toString('base64') } },
    });
    expect((await stat(s.path)).mode & 0o777).toBe(0o600);
    expect(await s.get('reg.example:5000')).toEqual({ username: 'alice', password: 'pa:ss' });
  });

  it('reads logins Docker wrote under a URL, or as username and password', async () => {
    const s = await store({
      auths: {
        'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw').toString('base64') },
        'plain.example': { username: 'bob', password: 'pw2' },
      },
    });
    expect(await s.get('index.docker.io')).toEqual({ username: 'hub', password: 'pw' });
    expect(await s.get('plain.example')).toEqual({ username: 'bob', password: 'pw2' });
    expect(await s.get('unknown.example')).toBeUndefined();
  });

  it('has no logins without a file, and names a broken file', async () => {
    const missing = await store();
    expect(await missing.get('reg.example')).toBeUndefined();
    expect(await missing.remove('reg.example')).toBe(false);
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{not json');
    await expect(new DockerConfigStore(broken).get('reg.example')).rejects.toThrow(broken);
  });

  it('removes a login under every key Docker may have used', async () => {
    const s = await store({ auths: { 'reg.example': { auth: 'eDp5' }, 'https://reg.example': { auth: 'eDp5' }, 'keep.example': { auth: 'eDp5' } } });
    expect(await s.remove('reg.example')).toBe(true);
    expect(await s.get('reg.example')).toBeUndefined();
    expect(Object.keys((JSON.parse(await readFile(s.path, 'utf8')) as { auths: object }).auths)).toEqual(['keep.example']);
  });
});

describe('where credentials come from', () => {
  it('takes REGCTL_USERNAME and REGCTL_PASSWORD only together', () => {
    expect(credentialsFromEnv({ REGCTL_USERNAME: 'a', REGCTL_PASSWORD: 'b' })).toEqual({ username: 'a', password: 'b' });
    expect(credentialsFromEnv({ REGCTL_USERNAME: 'a' })).toBeUndefined();
    expect(credentialsFromEnv({ REGCTL_PASSWORD: 'b' })).toBeUndefined();
  });

  it('finds the config file through DOCKER_CONFIG, else in HOME', () => {
    expect(dockerConfigPath({ DOCKER_CONFIG: '/d', HOME: '/h' })).toBe('/d/config.json');
    expect(dockerConfigPath({ HOME: '/h' })).toBe('/h/.docker/config.json');
  });

  it('prefers explicit credentials to the stored login', async () => {
    const stored = { get: async () => ({ username: 'stored', password: 'x' }) } as unknown as DockerConfigStore;
    expect(await credentialChain({ username: 'flag', password: 'y' }, stored)('reg.example')).toEqual({ username: 'flag', password: 'y' });
    expect(await credentialChain(undefined, stored)('reg.example')).toEqual({ username: 'stored', password: 'x' });
    expect(await credentialChain(undefined, undefined)('reg.example')).toBeUndefined();
  });
});
