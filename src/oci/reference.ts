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
