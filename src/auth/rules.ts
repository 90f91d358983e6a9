/**
 * Who may do what to which repository: the evaluation half of the access rules (parsing is in
 * rules-file.ts). Pure; names reach it already validated by the distribution grammar (lowercase,
 * no `..`, no empty or encoded segments), so a glob never meets a path trick.
 */

export const ACTIONS = ['pull', 'push', 'delete'] as const;
export type Action = (typeof ACTIONS)[number];

/** `*` = any authenticated user, `anonymous` = no credentials, `@name` = a group, else a user name. */
export type Subject = { kind: 'authenticated' } | { kind: 'anonymous' } | { kind: 'group'; name: string } | { kind: 'user'; name: string };

export interface AccessRule {
  /** The globs as written, for messages. */
  repositories: string[];
  matchers: RegExp[];
  grants: Record<Action, Subject[]>;
  /** 1-based line of the rule in its file. */
  line: number;
}

export interface AccessRules {
  groups: Map<string, Set<string>>;
  admins: Subject[];
  rules: AccessRule[];
  /** Every user name the file mentions (groups, admins, rules) with its 1-based line, for typo checks against the htpasswd file. */
  users: { name: string; line: number }[];
}

/** Decides for one request; `user` undefined = anonymous. */
export interface AccessPolicy {
  actions(user: string | undefined, repo: string): ReadonlySet<Action>;
  isAdmin(user: string | undefined): boolean;
}

const EVERYTHING: ReadonlySet<Action> = new Set(ACTIONS);
const NOTHING: ReadonlySet<Action> = new Set();

/** Without a rules file: every authenticated user may do everything (admin included), anonymous nothing. */
export const AUTHENTICATED_MAY_DO_ALL: AccessPolicy = {
  actions: (user) => (user === undefined ? NOTHING : EVERYTHING),
  isAdmin: (user) => user !== undefined,
};

/**
 * First match wins: the first rule whose globs match the repository decides every action on it, and
 * a repository no rule matches is private to everybody. First-match (rather than the union of all
 * matching rules) lets a narrow exception (`public/internal/**`) sit above a broad rule (`public/**`)
 * without a separate deny syntax, and a reader finds the answer by reading down to the first match.
 * Push implies pull, as on Docker Hub: a push reads blobs and manifests back (HEAD) as it goes.
 */
export function policyOf(rules: AccessRules): AccessPolicy {
  const covers = (subjects: Subject[], user: string | undefined): boolean =>
    subjects.some((s) => {
      switch (s.kind) {
        case 'anonymous':
          return user === undefined;
        case 'authenticated':
          return user !== undefined;
        case 'user':
          return s.name === user;
        case 'group':
          return user !== undefined && (rules.groups.get(s.name)?.has(user) ?? false);
      }
    });
  return {
    actions(user, repo) {
      const rule = rules.rules.find((r) => r.matchers.some((m) => m.test(repo)));
      if (!rule) return NOTHING;
      const granted = new Set(ACTIONS.filter((a) => covers(rule.grants[a], user)));
      if (granted.has('push')) granted.add('pull');
      return granted;
    },
    isAdmin: (user) => user !== undefined && covers(rules.admins, user),
  };
}

/**
 * `*` matches within one path segment, `**` (a whole segment) one or more segments: `team-a/**`
 * covers `team-a/app` and `team-a/x/y` but not a repository named `team-a`. Anchored at both ends.
 */
export function compileGlob(glob: string): RegExp {
  const parts = glob.split('/').map((segment) =>
    segment === '**' ? '[^/]+(?:/[^/]+)*' : segment.split('*').map((literal) => literal.replace(/[.]/g, '\\.')).join('[^/]*'),
  );
  return new RegExp(`^${parts.join('/')}$`);
}

/** Why a glob can never match a valid repository name, or undefined when it is fine. */
export function globProblem(glob: string): string | undefined {
  if (glob === '') return 'an empty repository glob matches nothing';
  if (/[A-Z]/.test(glob)) return `"${glob}" has capitals, but repository names are lowercase, so it would never match`;
  if (!/^[a-z0-9._*/-]+$/.test(glob)) return `"${glob}" may use only a-z 0-9 . _ - / * (and ** as a whole segment)`;
  for (const segment of glob.split('/')) {
    if (segment === '') return `"${glob}" has an empty path segment`;
    if (segment.includes('**') && segment !== '**') return `"${glob}": ** must be a whole path segment`;
  }
  return undefined;
}
