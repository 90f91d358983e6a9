import { describe, expect, it } from 'vitest';
import { parseChallenge } from '../../src/client/challenge.js';

describe('parseChallenge', () => {
  it.each([
    ['Basic realm="Registry Realm"', { scheme: 'basic', params: { realm: 'Registry Realm' } }],
    [
      // Docker Hub's shape: a comma inside a quoted scope is not a separator.
      'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:team/app:pull,push"',
      { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:team/app:pull,push' } },
    ],
    [
      'BEARER Realm=https://auth.example/token, Service="s", error="insufficient_scope"',
      { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 's', error: 'insufficient_scope' } },
    ],
    ['Basic realm="say \\"hi\\""', { scheme: 'basic', params: { realm: 'say "hi"' } }],
    ['Negotiate', { scheme: 'negotiate', params: {} }],
  ])('%s', (header, expected) => {
    expect(parseChallenge(header)).toEqual(expected);
  });

  it('has nothing to parse in an empty header', () => {
    expect(parseChallenge(undefined)).toBeUndefined();
    expect(parseChallenge('')).toBeUndefined();
  });
});
