import type { CliDeps } from '../cli/deps.js';
import { UsageError } from '../cli/errors.js';
import { parseReference } from '../cli/remote.js';
import type { ImageReference } from '../oci/reference.js';

/** What to ask the registry for: the digest when given, else the tag, else "latest" as Docker does. */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** A repository with neither tag nor digest, for commands that act on the whole repository. */
export function parseRepository(input: string, deps: CliDeps): ImageReference {
  const ref = parseReference(input, deps);
  if (ref.tag || ref.digest) {
    throw new UsageError(`"${input}" names a ${ref.digest ? 'digest' : 'tag'}; give the repository alone, e.g. ${ref.registry}/${ref.repository}`);
  }
  return ref;
}
