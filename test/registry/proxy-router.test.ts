import { describe, expect, it } from 'vitest';
import { checkPrefixes, parseRemoteUrl, ProxyConfigError, UpstreamRouter } from '../../src/registry/proxy/router.js';

describe('UpstreamRouter', () => {
  const router = new UpstreamRouter([
    { prefix: 'docker.io', upstream: 'hub' },
    { prefix: 'ghcr.io', upstream: 'ghcr' },
    { prefix: 'ghcr.io/big/org', upstream: 'mirror' },
  ]);

  it.each([
    ['docker.io/library/alpine', 'hub', 'library/alpine'],
    ['docker.io/alpine', 'hub', 'library/alpine'],
    ['docker.io/bitnami/redis', 'hub', 'bitnami/redis'],
    ['ghcr.io/owner/app', 'ghcr', 'owner/app'],
    ['ghcr.io/big/org/app', 'mirror', 'app'],
    ['ghcr.io/big/organisation', 'ghcr', 'big/organisation'],
  ])('%s goes to %s as %s', (repo, upstream, remoteRepo) => {
    expect(router.match(repo)).toEqual({ upstream, remoteRepo });
  });

  it.each(['docker.io', 'docker.iox/app', 'team/app', 'quay.io/x'])('%s is not proxied', (repo) => {
    expect(router.match(repo)).toBeUndefined();
  });

  it('the empty prefix takes every name, after longer prefixes', () => {
    const all = new UpstreamRouter([
      { prefix: '', upstream: 'default' },
      { prefix: 'docker.io', upstream: 'hub' },
    ]);
    expect(all.match('team/app')).toEqual({ upstream: 'default', remoteRepo: 'team/app' });
    expect(all.match('docker.io/alpine')).toEqual({ upstream: 'hub', remoteRepo: 'library/alpine' });
  });
});

describe('proxy settings', () => {
  it('takes http(s) origins and says what is wrong with anything else', () => {
    expect(parseRemoteUrl({ prefix: 'docker.io', remoteUrl: 'https://registry-1.docker.io' })).toEqual({ registry: 'registry-1.docker.io', scheme: 'https' });
    expect(parseRemoteUrl({ prefix: '', remoteUrl: 'http://127.0.0.1:5001/' })).toEqual({ registry: '127.0.0.1:5001', scheme: 'http' });
    expect(() => parseRemoteUrl({ prefix: 'x', remoteUrl: 'registry.example' })).toThrow(new ProxyConfigError('proxy upstream "x": remoteUrl "registry.example" is not a URL'));
    expect(() => parseRemoteUrl({ prefix: 'x', remoteUrl: 'ftp://registry.example' })).toThrow(/must be http\(s\):\/\/host\[:port\]/);
    expect(() => parseRemoteUrl({ prefix: 'x', remoteUrl: 'https://registry.example/v2' })).toThrow(/must be http\(s\):\/\/host\[:port\]/);
  });

  it('refuses prefixes that are not names, and the same prefix twice', () => {
    expect(() => checkPrefixes([{ prefix: 'Docker.IO' }])).toThrow('proxy prefix "Docker.IO" is not a repository name prefix');
    expect(() => checkPrefixes([{ prefix: 'ghcr.io' }, { prefix: 'ghcr.io' }])).toThrow('proxy prefix "ghcr.io" is configured twice');
    expect(() => checkPrefixes([{ prefix: '' }, { prefix: 'docker.io' }, { prefix: 'ghcr.io/org' }])).not.toThrow();
  });
});
