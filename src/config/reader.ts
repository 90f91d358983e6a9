import { isMap, isScalar, isSeq, Pair, Scalar, YAMLMap, type Node } from 'yaml';
import { parseDuration } from '../util/duration.js';
import { ConfigError, type ConfigWarning } from './errors.js';
import type { ConfigTree } from './source.js';

/**
 * Typed reads from one mapping of the configuration tree. Every read marks its key as understood;
 * `finish()` warns about the rest, so an ignored setting is never silent. Wrong types are
 * ConfigErrors pointing at the value.
 */
export class Section {
  private readonly used = new Set<string>();
  /** Every key a read asked for, written or not: what a misspelt key is compared with. */
  private readonly known = new Set<string>();

  constructor(
    private readonly tree: ConfigTree,
    private readonly warnings: ConfigWarning[],
    readonly path: string,
    readonly node: YAMLMap | undefined,
    /** The key this section is written under, for messages about keys missing from it. */
    private readonly at?: Node,
  ) {}

  /** Whether the key is written at all (an explicit null counts as absent). */
  has(key: string): boolean {
    const value = this.pair(key)?.value as Node | null | undefined;
    return value !== undefined && value !== null && !(isScalar(value) && value.value === null);
  }

  string(key: string): string | undefined {
    const node = this.value(key);
    if (node === undefined) return undefined;
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    throw this.wrong(key, node, 'write a string');
  }

  bool(key: string): boolean | undefined {
    const node = this.value(key);
    if (node === undefined) return undefined;
    if (isScalar(node) && typeof node.value === 'boolean') return node.value;
    throw this.wrong(key, node, 'write true or false');
  }

  /** A non-negative integer; `min` for sizes with a floor. */
  integer(key: string, min = 0): number | undefined {
    const node = this.value(key);
    if (node === undefined) return undefined;
    const v = isScalar(node) ? Number(node.value) : NaN;
    if (isScalar(node) && (typeof node.value === 'number' || typeof node.value === 'string') && Number.isInteger(v) && v >= min) return v;
    throw this.wrong(key, node, min > 0 ? `write a whole number of at least ${min}` : 'write a whole number (0 or more)');
  }

  /** Go-style durations as the CNCF registry writes them: `500ms`, `10s`, `168h`, `1h30m`. */
  duration(key: string): number | undefined {
    const node = this.value(key);
    if (node === undefined) return undefined;
    const v = isScalar(node) ? node.value : undefined;
    try {
      if (typeof v === 'string') return parseDuration(v);
    } catch {
      // the message below says what is accepted
    }
    throw this.wrong(key, node, 'write a duration with a unit, e.g. 500ms, 10s, 15m or 168h');
  }

  /** A list of strings; a single string is a list of one. */
  strings(key: string): string[] | undefined {
    const node = this.value(key);
    if (node === undefined) return undefined;
    if (isScalar(node) && typeof node.value === 'string') return [node.value];
    if (isSeq(node) && node.items.every((i) => isScalar(i) && typeof i.value === 'string')) return node.items.map((i) => String((i as { value: string }).value));
    throw this.wrong(key, node, 'write a list of strings');
  }

  /**
   * A nested mapping; absent = an empty section. With `named`, a bare name is `{name: {}}`, as the
   * CNCF registry reads `storage: s3` and `auth: htpasswd`; elsewhere a scalar is a mistake, and
   * `example` shows what belongs below the key.
   */
  section(key: string, options: { named?: boolean; example?: string } = {}): Section {
    const node = this.value(key);
    const path = this.child(key);
    const at = this.pair(key)?.key as Node | undefined;
    if (node === undefined || isMap(node)) return new Section(this.tree, this.warnings, path, node, at);
    if (options.named && isScalar(node) && typeof node.value === 'string' && node.value !== '') {
      const named = new YAMLMap<unknown, unknown>();
      named.add(new Pair(new Scalar(node.value), null));
      named.range = node.range;
      return new Section(this.tree, this.warnings, path, named, at);
    }
    throw this.wrong(key, node, `write a mapping of settings (indented keys below it${options.example ? `, e.g. ${options.example}` : ''})`);
  }

  /** A list of mappings (notification endpoints, proxies). */
  list(key: string): Section[] {
    const node = this.value(key);
    if (node === undefined) return [];
    if (!isSeq(node)) throw this.wrong(key, node, 'write a list (items starting with "- ")');
    return node.items.map((item, i) => {
      if (!isMap(item)) throw new ConfigError(this.tree.where(item as Node), `${this.child(key)}[${i}] is ${shown(item as Node)}; write a mapping of settings`);
      return new Section(this.tree, this.warnings, `${this.child(key)}[${i}]`, item);
    });
  }

  /** The keys written in this mapping, in order. */
  keys(): string[] {
    return (this.node?.items ?? []).map((p) => keyName(p));
  }

  /** Warns when the key is present: regctl does not act on it. */
  unsupported(key: string, why = 'is not supported by regctl; ignored'): void {
    this.known.add(key);
    if (!this.has(key)) return;
    this.used.add(key);
    this.warn(key, why);
  }

  warn(key: string, message: string): void {
    const node = this.pair(key)?.key as Node | undefined;
    this.warnings.push({ key: this.child(key), where: this.tree.where(node ?? this.at ?? this.node), message: `${this.child(key)} ${message}` });
  }

  /**
   * A ConfigError pointing at the key's value (or at this section when the key is absent). A scalar
   * value is where a REGISTRY_* variable shows: it may have replaced the value under the file's key.
   */
  fail(key: string, node: Node | undefined, problem: string): ConfigError {
    const pair = this.pair(key);
    const value = isScalar(pair?.value) ? (pair.value as Node) : undefined;
    return new ConfigError(this.tree.where(node ?? value ?? (pair?.key as Node | undefined) ?? this.at ?? this.node), `${this.child(key)} ${problem}`);
  }

  /** Where the key's value was written (`FILE:LINE` or the REGISTRY_* variable), for later checks. */
  whereOf(key: string): string {
    const pair = this.pair(key);
    if (!pair) return '(default)';
    return this.tree.where((isScalar(pair?.value) ? pair.value : pair?.key) as Node | undefined);
  }

  /** A value of the wrong type: what it is, then what to write instead. */
  private wrong(key: string, node: Node, fix: string): ConfigError {
    return this.fail(key, node, `is ${shown(node)}; ${fix}`);
  }

  /** Warns about every key no read asked for. */
  finish(): void {
    for (const key of this.keys()) {
      if (this.used.has(key)) continue;
      this.used.add(key);
      const near = closest(key, [...this.known].filter((k) => !this.has(k)));
      this.warn(key, `is not a setting regctl knows${near ? ` (did you mean ${this.child(near)}?)` : ''}; ignored`);
    }
  }

  private value(key: string): Node | undefined {
    this.used.add(key);
    this.known.add(key);
    return this.has(key) ? (this.pair(key)!.value as Node) : undefined;
  }

  private pair(key: string): Pair<unknown, unknown> | undefined {
    return this.node?.items.find((p) => keyName(p) === key) as Pair<unknown, unknown> | undefined;
  }

  private child(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }
}

/** The known key a misspelling most likely meant: at most 2 edits away (1 for short keys). */
export function closest(key: string, known: string[]): string | undefined {
  const limit = key.length <= 4 ? 1 : 2;
  let best: { key: string; distance: number } | undefined;
  for (const k of known) {
    const distance = editDistance(key.toLowerCase(), k.toLowerCase());
    if (distance <= limit && (!best || distance < best.distance)) best = { key: k, distance };
  }
  return best?.key;
}

/** Levenshtein distance, adjacent swaps counting as one edit (the commonest typo). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

function shown(node: Node): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  const text = JSON.stringify(isScalar(node) ? node.value : node);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function keyName(pair: Pair<unknown, unknown>): string {
  return String(isScalar(pair.key) ? pair.key.value : pair.key);
}
