import { parseDigest } from './digest.js';
import { NameInvalid, TagInvalid } from './errors.js';

/** Path components of a repository name, per the distribution spec. */
const NAME_COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
export const NAME_PATTERN = new RegExp(`^${NAME_COMPONENT}(?:/${NAME_COMPONENT})*$`);
export const TAG_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/** The CNCF registry's limit; longer names break on-disk paths on some filesystems. */
export const MAX_NAME_LENGTH = 255;

export function validateName(name: string): string {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH || !NAME_PATTERN.test(name)) {
    throw new NameInvalid(`invalid repository name "${name.length > 80 ? `${name.slice(0, 77)}...` : name}"`, {
      detail: { name, rule: 'lowercase path components of [a-z0-9] separated by ".", "_", "__" or "-", joined by "/", at most 255 characters' },
    });
  }
  return name;
}

export function isValidTag(tag: string): boolean {
  return TAG_PATTERN.test(tag);
}

export function validateTag(tag: string): string {
  if (!isValidTag(tag)) {
    throw new TagInvalid(`invalid tag "${tag.length > 80 ? `${tag.slice(0, 77)}...` : tag}"`, {
      detail: { tag, rule: '[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}' },
    });
  }
  return tag;
}

export type Reference = { kind: 'tag'; tag: string } | { kind: 'digest'; digest: string };

/** A manifest reference from a URL: a digest when it has an algorithm prefix, else a tag; both validated. */
export function parseReference(reference: string): Reference {
  if (reference.includes(':')) return { kind: 'digest', digest: parseDigest(reference).value };
  return { kind: 'tag', tag: validateTag(reference) };
}

/** Where no registry is named, regctl talks to a local one (Docker would use Docker Hub). */
export const DEFAULT_REGISTRY = 'localhost:5000';

export interface ImageReference {
  /** host[:port], without scheme. */
  registry: string;
  /** Set when the user wrote `http://` or `https://` before the registry. */
  scheme?: 'http' | 'https';
  repository: string;
  tag?: string;
  digest?: string;
}

/**
 * Parses `[scheme://][host[:port]/]name[:tag][@digest]`. The first path component is a registry
 * when it has a "." or ":" or is "localhost" (Docker's rule); otherwise `defaultRegistry` is used.
 */
export function parseImageReference(input: string, defaultRegistry: string = DEFAULT_REGISTRY): ImageReference {
  let rest = input.trim();
  let scheme: 'http' | 'https' | undefined;
  const schemeMatch = /^(https?):\/\//.exec(rest);
  if (schemeMatch) {
    scheme = schemeMatch[1] as 'http' | 'https';
    rest = rest.slice(schemeMatch[0].length);
  }
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = parseDigest(rest.slice(at + 1)).value;
    rest = rest.slice(0, at);
  }
  let registry: string | undefined;
  const slash = rest.indexOf('/');
  const first = slash === -1 ? '' : rest.slice(0, slash);
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost' || scheme)) {
    registry = first;
    rest = rest.slice(slash + 1);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon !== -1) {
    tag = validateTag(rest.slice(colon + 1));
    rest = rest.slice(0, colon);
  }
  const repository = validateName(rest);
  const fallback = splitScheme(defaultRegistry);
  const result: ImageReference = { registry: registry ?? fallback.registry, repository };
  const effectiveScheme = scheme ?? (registry ? undefined : fallback.scheme);
  if (effectiveScheme) result.scheme = effectiveScheme;
  if (tag) result.tag = tag;
  if (digest) result.digest = digest;
  return result;
}

/** `host:port` or `http(s)://host:port` → the host part and the scheme, if one was given. */
export function splitScheme(registry: string): { registry: string; scheme?: 'http' | 'https' } {
  const m = /^(https?):\/\/([^/]+)\/?$/.exec(registry.trim());
  return m ? { registry: m[2]!, scheme: m[1] as 'http' | 'https' } : { registry: registry.trim().replace(/\/+$/, '') };
}

/** `registry/repository[:tag][@digest]` for display. */
export function formatImageReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}
