import { Option, type Command } from 'commander';
import type { CliDeps } from '../cli/deps.js';
import { addRemoteOptions, parsePositiveInt, REFERENCE_HELP, withClient, type RemoteFlags } from '../cli/remote.js';
import { formatImageReference } from '../oci/reference.js';
import { outputFor, withSpinner } from './present.js';
import { parseRepository } from './references.js';

export interface TagsFlags extends RemoteFlags {
  limit?: number;
  pageSize?: number;
}

export interface TagsResult {
  registry: string;
  repository: string;
  tags: string[];
}

export async function runTags(input: string, flags: TagsFlags, deps: CliDeps): Promise<TagsResult> {
  const ref = parseRepository(input, deps);
  const tags = await withClient(ref, flags, deps, (client) => client.tags(ref.repository, { limit: flags.limit, pageSize: flags.pageSize }));
  return { registry: ref.registry, repository: ref.repository, tags };
}

export function registerTags(program: Command, deps: CliDeps): void {
  addRemoteOptions(
    program
      .command('tags <repository>')
      .description('list the tags of a repository, following pagination')
      .option('--limit <n>', 'stop after this many tags', parsePositiveInt)
      // Some registries page oddly; a small page size shows it, and keeps each answer short.
      .addOption(new Option('--page-size <n>', 'ask the registry for this many tags per request').argParser(parsePositiveInt))
      .addHelpText('after', `\n${REFERENCE_HELP}`),
  ).action(async (repository: string, flags: TagsFlags) => {
    const result = await withSpinner(`listing tags of ${repository}`, flags, deps, () => runTags(repository, flags, deps));
    outputFor(flags, deps).result(result, () =>
      result.tags.length ? result.tags.join('\n') : `(no tags in ${formatImageReference(result)})`,
    );
  });
}
