import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair } from 'yaml';
import { ACTIONS, compileGlob, globProblem, type AccessRule, type AccessRules, type Action, type Subject } from './rules.js';
import { yamlProblem } from '../config/source.js';

/** A rules file regctl will not use; the message is one line naming the file and line. */
export class AccessRulesError extends Error {
  override name = 'AccessRulesError';
}

/**
 * Parses an access rules file:
 *
 *   groups: { devs: [alice, bob] }
 *   admins: [root]                      # may run POST /admin/gc
 *   rules:                              # first match wins
 *     - repositories: ["public/**"]
 *       pull: ["*", anonymous]
 *     - repositories: ["team-a/**"]
 *       pull: ["@devs"]
 *       push: ["@devs"]
 *       delete: [alice]
 *
 * Anything unknown or misspelt is an error rather than ignored: a typo in a permission file must
 * not silently open or close a repository.
 */
export function parseAccessRules(text: string, file: string): AccessRules {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const fail = (at: Node | Pair | null | undefined, message: string): never => {
    throw new AccessRulesError(`${file} line ${lines.linePos(startOf(at)).line}: ${message}`);
  };
  const firstError = doc.errors[0];
  if (firstError) {
    // The parser's first line ends in " at line L, column C:", which this message already says.
    throw new AccessRulesError(`${file} line ${firstError.linePos?.[0].line ?? 1}: ${yamlProblem(firstError)}`);
  }
  const root = doc.contents;
  const users: AccessRules['users'] = [];
  if (root === null) return { groups: new Map(), admins: [], rules: [], users };
  if (!isMap(root)) return fail(root, 'expected a mapping with groups, admins and rules');

  const strings = (node: unknown, what: string): { value: string; node: Node }[] => {
    if (isScalar(node) && typeof node.value === 'string') return [{ value: node.value, node }];
    if (!isSeq(node)) return fail(node as Node, `${what} must be a list of names`);
    return node.items.map((item) => {
      if (!isScalar(item) || typeof item.value !== 'string' || item.value === '') return fail(item as Node, `${what} must be a list of names`);
      return { value: item.value, node: item };
    });
  };

  const groups = new Map<string, Set<string>>();
  const sections = new Map(root.items.map((pair) => [String(isScalar(pair.key) ? pair.key.value : ''), pair] as const));
  for (const [key, pair] of sections) if (!['groups', 'admins', 'rules'].includes(key)) fail(pair, `unknown key "${key}" (expected groups, admins, rules)`);

  const groupsNode = sections.get('groups')?.value;
  if (groupsNode != null) {
    if (!isMap(groupsNode)) fail(groupsNode as Node, 'groups must map a group name to a list of users');
    for (const pair of (groupsNode as { items: Pair[] }).items) {
      const name = String(isScalar(pair.key) ? pair.key.value : '');
      if (!/^[A-Za-z0-9._-]+$/.test(name)) fail(pair, `invalid group name "${name}"`);
      const members = strings(pair.value, `group "${name}"`);
      for (const m of members) if (m.value.startsWith('@')) fail(m.node, `group "${name}" lists "${m.value}": groups cannot contain groups`);
      for (const m of members) users.push({ name: m.value, line: lines.linePos(startOf(m.node)).line });
      groups.set(name, new Set(members.map((m) => m.value)));
    }
  }

  const subjects = (node: unknown, what: string, allowAnonymous: boolean): Subject[] =>
    strings(node, what).map(({ value, node: at }): Subject => {
      if (value === '*') return { kind: 'authenticated' };
      if (value === 'anonymous') {
        if (!allowAnonymous) fail(at, `anonymous may only pull (found in ${what})`);
        return { kind: 'anonymous' };
      }
      if (value.startsWith('@')) {
        if (!groups.has(value.slice(1))) fail(at, `${what} names group "${value}", which groups does not define`);
        return { kind: 'group', name: value.slice(1) };
      }
      users.push({ name: value, line: lines.linePos(startOf(at)).line });
      return { kind: 'user', name: value };
    });

  const adminsNode = sections.get('admins')?.value;
  const admins = adminsNode == null ? [] : subjects(adminsNode, 'admins', false);

  const rulesNode = sections.get('rules')?.value;
  const rules: AccessRule[] = [];
  if (rulesNode != null) {
    if (!isSeq(rulesNode)) fail(rulesNode as Node, 'rules must be a list');
    for (const item of (rulesNode as { items: unknown[] }).items) {
      if (!isMap(item)) return fail(item as Node, 'each rule must be a mapping with repositories and pull/push/delete');
      const line = lines.linePos(item.range?.[0] ?? 0).line;
      const keys = new Map(item.items.map((pair) => [String(isScalar(pair.key) ? pair.key.value : ''), pair] as const));
      for (const [key, pair] of keys) if (key !== 'repositories' && !ACTIONS.includes(key as Action)) fail(pair, `unknown key "${key}" in a rule (expected repositories, pull, push, delete)`);
      const repositories = keys.get('repositories');
      if (!repositories) return fail(item, 'a rule needs repositories (a list of globs)');
      const globs = strings(repositories.value, 'repositories');
      if (globs.length === 0) fail(repositories, 'repositories is empty');
      for (const g of globs) {
        const problem = globProblem(g.value);
        if (problem) fail(g.node, problem);
      }
      const grant = (action: Action): Subject[] => {
        const pair = keys.get(action);
        return pair?.value == null ? [] : subjects(pair.value, action, action === 'pull');
      };
      rules.push({
        repositories: globs.map((g) => g.value),
        matchers: globs.map((g) => compileGlob(g.value)),
        grants: { pull: grant('pull'), push: grant('push'), delete: grant('delete') },
        line,
      });
    }
  }
  return { groups, admins, rules, users };
}

/** Where a node (or a pair, by its key) starts in the text; 0 when YAML kept no position. */
function startOf(at: Node | Pair | null | undefined): number {
  if (!at) return 0;
  if (isPair(at)) return startOf(at.key as Node | null);
  return at.range?.[0] ?? 0;
}
