import { isMap, isScalar, isSeq, LineCounter, Pair, parseDocument, Scalar, visit, YAMLMap, type Document, type Node } from 'yaml';
import { ConfigError } from './errors.js';
import { isConfigVariable } from './variables.js';

/** go-yaml, which the CNCF registry reads its file with, speaks YAML 1.1 (`yes`/`no` are booleans). */
const YAML_OPTIONS = { version: '1.1', prettyErrors: false } as const;


/**
 * The configuration tree, file and environment merged, with where each value came from, so every
 * message can point at a line of the file or at the variable that set the value.
 */
export interface ConfigTree {
  root: YAMLMap;
  /** `FILE:LINE` of a node from the file, the `REGISTRY_*` name of one from the environment. */
  where(node: Node | undefined): string;
  /** The file, or `(defaults)` when there is none. */
  origin: string;
}

export function emptyTree(): ConfigTree {
  const root = new YAMLMap();
  return { root, where: () => '(defaults)', origin: '(defaults)' };
}

/** The YAML parser's reason without its position (the caller names the line), and the usual fix. */
export function yamlProblem(error: { message: string }): string {
  const what = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  return `${lowerFirst(what)}; fix the YAML there (indent with spaces, quote values holding ": " or "#")`;
}

/** Parses config.yml text; YAML that does not parse is a ConfigError naming its line. */
export function parseConfigText(text: string, file: string): ConfigTree {
  const lineCounter = new LineCounter();
  const doc: Document = parseDocument(text, { ...YAML_OPTIONS, lineCounter });
  const lineOf = (offset: number): number => lineCounter.linePos(offset).line;
  const problem = doc.errors[0];
  if (problem) {
    throw new ConfigError(`${file}:${lineOf(problem.pos[0])}`, yamlProblem(problem));
  }
  const contents = doc.contents;
  if (contents !== null && !isMap(contents)) {
    throw new ConfigError(`${file}:${lineOf(contents.range?.[0] ?? 0)}`, 'the file must be a YAML mapping; start it with "version: 0.1"');
  }
  const root = contents ?? new YAMLMap();
  const fallback = `${file}:1`;
  return {
    root,
    origin: file,
    where: (node) => (node?.range ? `${file}:${lineOf(node.range[0])}` : fallback),
  };
}

/**
 * Applies `REGISTRY_*` variables the CNCF way: `_` separates levels, names match keys case-
 * insensitively, values are YAML. Shorter names go first, so `REGISTRY_STORAGE=s3` (which replaces
 * the whole storage section) comes before `REGISTRY_STORAGE_S3_BUCKET`.
 */
export function applyEnvironment(tree: ConfigTree, env: NodeJS.ProcessEnv): ConfigTree {
  const fromEnv = new WeakMap<Node, string>();
  const names = Object.keys(env)
    .filter(isConfigVariable)
    .sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
  for (const name of names) {
    const mark = (node: Node): void => void fromEnv.set(node, name);
    const node = valueNode(env[name]!);
    visit(node, { Node: (_key, n) => mark(n) });
    mark(node);
    setPath(tree.root, name.slice(9).toLowerCase().split('_'), node, name, mark);
  }
  return { ...tree, where: (node) => (node && fromEnv.get(node)) ?? tree.where(node) };
}

function valueNode(text: string): Node {
  const doc = parseDocument(text, YAML_OPTIONS);
  const value: unknown = doc.errors.length ? text : doc.toJS();
  return doc.createNode(value ?? '') as Node;
}

function setPath(root: YAMLMap, path: string[], value: Node, name: string, mark: (node: Node) => void): void {
  const created = <T extends Node>(node: T): T => {
    mark(node);
    return node;
  };
  let map = root;
  for (const [i, key] of path.entries()) {
    const pair = findPair(map, key);
    if (i === path.length - 1) {
      if (pair) pair.value = value;
      else map.add(new Pair(created(new Scalar(key)), value));
      return;
    }
    if (pair && isMap(pair.value)) {
      map = pair.value;
      continue;
    }
    if (pair && isSeq(pair.value)) {
      throw new ConfigError(name, `${path.slice(0, i + 1).join('.')} is a list, which cannot be changed one field at a time; set the whole list in ${path.slice(0, i + 1).join('_').toUpperCase()} as YAML`);
    }
    // `storage: s3` names a driver without parameters; a variable that adds one keeps the driver.
    const next = created(new YAMLMap());
    if (pair && isScalar(pair.value) && typeof pair.value.value === 'string' && pair.value.value !== '') next.add(new Pair(created(new Scalar(pair.value.value)), created(new YAMLMap())));
    if (pair) pair.value = next;
    else map.add(new Pair(created(new Scalar(key)), next));
    map = next;
  }
}

function findPair(map: YAMLMap, key: string): Pair<unknown, unknown> | undefined {
  return map.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key).toLowerCase() === key) as Pair<unknown, unknown> | undefined;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
