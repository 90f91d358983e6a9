import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { CliDeps } from '../cli/deps.js';
import { CliError, ExitCode } from '../cli/errors.js';
import { outputFor } from './present.js';
import { formatBytes, formatTable, styleFor } from '../cli/style.js';
import { defaultStorageRoot } from '../config/paths.js';
import { validateName } from '../oci/reference.js';
import { diskUsage, type UsageReport } from '../registry/gc/usage.js';
import { FilesystemDriver } from '../storage/filesystem.js';

export async function runDu(repo: string | undefined, flags: { root?: string }, deps: CliDeps): Promise<UsageReport & { root: string }> {
  const root = resolve(flags.root ?? defaultStorageRoot(deps.env));
  const report = await diskUsage(new FilesystemDriver(root), repo === undefined ? undefined : validateName(repo));
  if (repo !== undefined && report.repositories.length === 0) throw new CliError(`no repository ${repo} in ${root}`, ExitCode.notFound);
  return { root, ...report };
}

export function registerDu(program: Command, deps: CliDeps): void {
  program
    .command('du [repository]')
    .description('storage used per repository: bytes only it holds, and bytes it shares with others')
    .option('--root <dir>', `storage root (default: ${defaultStorageRoot()})`)
    .option('--json', 'print the result as one JSON document')
    .action(async (repo: string | undefined, flags: { root?: string; json?: boolean }) => {
      const result = await runDu(repo, flags, deps);
      outputFor(flags, deps).result(result, () => {
        const rows = result.repositories
          .sort((a, b) => b.uniqueBytes + b.sharedBytes - (a.uniqueBytes + a.sharedBytes))
          .map((r) => [r.name, formatBytes(r.uniqueBytes), formatBytes(r.sharedBytes), formatBytes(r.uniqueBytes + r.sharedBytes), String(r.blobs)]);
        const table = formatTable(['REPOSITORY', 'UNIQUE', 'SHARED', 'TOTAL', 'BLOBS'], rows, styleFor(deps.stdout, deps.env));
        return `${table}\n\nstore: ${formatBytes(result.storeBytes)} in ${result.blobs} blobs at ${result.root}`;
      });
    });
}
