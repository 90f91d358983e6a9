import type { Command } from 'commander';
import type { CliDeps } from '../cli/deps.js';
import { UsageError } from '../cli/errors.js';
import { addRemoteOptions, parseReference, REFERENCE_HELP, withClient, type RemoteFlags } from '../cli/remote.js';
import { formatImageReference, isValidTag } from '../oci/reference.js';
import { outputFor } from './present.js';
import { manifestReference } from './references.js';

export interface TagResult {
  source: string;
  digest: string;
  mediaType: string;
  /** The new references, in the order given. */
  tagged: string[];
}

/**
 * Retags on the registry: the manifest's bytes are sent back under each new tag with the same media
 * type, so the digest stays the same and no blob moves.
 */
export async function runTag(sourceInput: string, newTags: string[], flags: RemoteFlags, deps: CliDeps): Promise<TagResult> {
  const source = parseReference(sourceInput, deps);
  for (const tag of newTags) {
    if (!isValidTag(tag)) {
      throw new UsageError(`"${tag}" is not a tag: a new tag names only the tag ([A-Za-z0-9_][A-Za-z0-9._-]*, at most 128), in the same repository; to put an image in another repository use regctl copy`);
    }
  }
  return withClient(source, flags, deps, async (client) => {
    const manifest = await client.getManifest(source.repository, manifestReference(source));
    const tagged: string[] = [];
    for (const tag of newTags) {
      await client.putManifest(source.repository, tag, manifest.body, manifest.mediaType);
      tagged.push(formatImageReference({ registry: source.registry, repository: source.repository, tag }));
    }
    return { source: formatImageReference(source), digest: manifest.digest, mediaType: manifest.mediaType, tagged };
  });
}

export function registerTag(program: Command, deps: CliDeps): void {
  addRemoteOptions(
    program
      .command('tag <source> <tags...>')
      .description('give a manifest more tags in its repository, without moving any blob')
      .addHelpText('after', `\nExample: regctl tag localhost:5000/app:1.2.3 1.2 1 latest\n\n${REFERENCE_HELP}`),
  ).action(async (source: string, tags: string[], flags: RemoteFlags) => {
    const result = await runTag(source, tags, flags, deps);
    outputFor(flags, deps).result(result, () => result.tagged.map((ref) => `tagged ${ref} (${result.digest})`).join('\n'));
  });
}
