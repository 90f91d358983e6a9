import { describe, expect, it } from 'vitest';
import { AccessRulesError, parseAccessRules } from '../../src/auth/rules-file.js';
import { AUTHENTICATED_MAY_DO_ALL, compileGlob, policyOf } from '../../src/auth/rules.js';
import { RULES } from './fixture.js';

const actions = (user: string | undefined, repo: string): string[] => [...policyOf(parseAccessRules(RULES, 'rules.yaml')).actions(user, repo)].sort();

describe('access rules', () => {
  it('lets the first matching rule decide, so a narrow exception sits above a broad rule', () => {
    expect(actions(undefined, 'public/app')).toEqual(['pull']);
    expect(actions('mallory', 'public/app')).toEqual(['pull']);
    expect(actions(undefined, 'public/internal/tool')).toEqual([]);
    expect(actions('mallory', 'public/internal/tool')).toEqual([]);
    expect(actions('bob', 'public/internal/tool')).toEqual(['pull']);
    expect(actions('root', 'public/app')).toEqual(['pull', 'push']);
  });

  it('resolves groups, gives delete only to whom it names, and makes push imply pull', () => {
    expect(actions('bob', 'team-a/app')).toEqual(['pull', 'push']);
    expect(actions('alice', 'team-a/app')).toEqual(['delete', 'pull', 'push']);
    expect(actions('mallory', 'team-a/app')).toEqual([]);
    expect(actions('mallory', 'mallory/x')).toEqual(['pull', 'push']);
  });

  it('keeps every repository no rule matches private, to users and anonymous alike', () => {
    expect(actions('alice', 'elsewhere/app')).toEqual([]);
    expect(actions(undefined, 'elsewhere')).toEqual([]);
    expect(actions('alice', 'team-a')).toEqual([]);
  });

  it('knows admins, and without a rules file treats every authenticated user as allowed everything', () => {
    const policy = policyOf(parseAccessRules(RULES, 'rules.yaml'));
    expect(policy.isAdmin('root')).toBe(true);
    expect(policy.isAdmin('alice')).toBe(false);
    expect(policy.isAdmin(undefined)).toBe(false);
    expect([...AUTHENTICATED_MAY_DO_ALL.actions('anyone', 'x')].sort()).toEqual(['delete', 'pull', 'push']);
    expect(AUTHENTICATED_MAY_DO_ALL.actions(undefined, 'x').size).toBe(0);
    expect(AUTHENTICATED_MAY_DO_ALL.isAdmin('anyone')).toBe(true);
  });

  it('matches * within one path segment and ** across one or more', () => {
    const one = compileGlob('library/*');
    expect(one.test('library/alpine')).toBe(true);
    expect(one.test('library/a/b')).toBe(false);
    expect(one.test('library')).toBe(false);
    const deep = compileGlob('team-a/**');
    expect(['team-a/x', 'team-a/x/y/z'].map((n) => deep.test(n))).toEqual([true, true]);
    expect(['team-a', 'team-ab/x', 'xteam-a/x'].map((n) => deep.test(n))).toEqual([false, false, false]);
    const dots = compileGlob('a.b/*-dev');
    expect(dots.test('a.b/app-dev')).toBe(true);
    expect(dots.test('axb/app-dev')).toBe(false);
    expect(compileGlob('**').test('any/depth/at/all')).toBe(true);
  });
});

describe('parseAccessRules', () => {
  const error = (text: string): string => {
    try {
      parseAccessRules(text, 'rules.yaml');
    } catch (err) {
      expect(err).toBeInstanceOf(AccessRulesError);
      return (err as Error).message;
    }
    throw new Error('parsed without an error');
  };

  it('reads an empty file as no rules: everything private', () => {
    expect(policyOf(parseAccessRules('', 'rules.yaml')).actions('alice', 'a').size).toBe(0);
  });

  it('names the file and line of every mistake, on one line', () => {
    const cases: [string, RegExp][] = [
      ['rules:\n  - repositories: [a\n', /^rules\.yaml line \d+: /],
      ['rules:\n  - repositories: ["a/**"]\n    pul: [alice]\n', /^rules\.yaml line 3: unknown key "pul" in a rule/],
      ['rules:\n  - repositories: ["a/**"]\n    push: ["@devs"]\n', /^rules\.yaml line 3: push names group "@devs", which groups does not define/],
      ['rules:\n  - pull: [alice]\n', /^rules\.yaml line 2: a rule needs repositories/],
      ['rules:\n  - repositories: ["Team/**"]\n', /^rules\.yaml line 2: "Team\/\*\*" has capitals/],
      ['rules:\n  - repositories: ["a/x**"]\n', /^rules\.yaml line 2: "a\/x\*\*": \*\* must be a whole path segment/],
      ['rules:\n  - repositories: ["a//b"]\n', /line 2: "a\/\/b" has an empty path segment/],
      ['rules:\n  - repositories: ["a/%2e%2e/b"]\n', /line 2: .* may use only/],
      ['rules:\n\n  - repositories: [a]\n    push: [anonymous]\n', /^rules\.yaml line 4: anonymous may only pull/],
      ['groups:\n  devs: ["@ops"]\n', /line 2: group "devs" lists "@ops": groups cannot contain groups/],
      ['rulez: []\n', /^rules\.yaml line 1: unknown key "rulez"/],
      ['rules: {a: 1}\n', /line 1: rules must be a list/],
      ['- a\n', /line 1: expected a mapping/],
    ];
    for (const [text, expected] of cases) {
      const message = error(text);
      expect(message, text).toMatch(expected);
      expect(message).not.toContain('\n');
    }
  });
});
