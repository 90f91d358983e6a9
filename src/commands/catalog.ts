import type { Command } from 'commander';
import type { CliDeps } from '../cli/deps.js';
import { outputFor } from './present.js';
import { addRemoteOptions, parsePositiveInt, parseRegistry, REFERENCE_HELP, withClient, type RemoteFlags } from '../cli/remote.js';

export interface CatalogResult {
  registry: string;
  repositories: string[];
}

export async function runCatalog(registryArg: string | undefined, flags: RemoteFlags & { limit?: number }, deps: CliDeps): Promise<CatalogResult> {
  const target = parseRegistry(registryArg, deps);
  const repositories = await withClient(target, flags, deps, (client) => client.catalog({ limit: flags.limit }));
  return { registry: target.registry, repositories };
}

export function registerCatalog(program: Command, deps: CliDeps): void {
  addRemoteOptions(
    program
      .command('catalog [registry]')
      .description('list the repositories of a registry, following pagination')
      .option('--limit <n>', 'stop after this many repositories', parsePositiveInt)
      .addHelpText('after', `\n${REFERENCE_HELP}`),
  ).action(async (registry: string | undefined, flags: RemoteFlags & { limit?: number }) => {
    const result = await runCatalog(registry, flags, deps);
    outputFor(flags, deps).result(result, () =>
      result.repositories.length ? result.repositories.join('\n') : `(no repositories in ${result.registry})`,
    );
  });
}
