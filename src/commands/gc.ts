import { resolve } from 'node:path';
import type { ChalkInstance } from 'chalk';
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { remoteGc, type AdminConnection } from '../client/admin.js';
import { clientHints, schemeOf } from '../client/connect.js';
import { connectionOptions } from '../cli/remote.js';
import { splitScheme } from '../oci/reference.js';
import { canPrompt, confirm } from '../cli/prompt.js';
import type { CliDeps } from '../cli/deps.js';
import { CliError, UsageError } from '../cli/errors.js';
import { outputFor } from './present.js';
import { formatBytes, formatTable, styleFor } from '../cli/style.js';
import { defaultStorageRoot } from '../config/paths.js';
import { parseDigest } from '../oci/digest.js';
import { collectGarbage, type GcOptions } from '../registry/gc/collect.js';
import type { GcReport } from '../registry/gc/report.js';
import { GC_DEFAULTS } from '../server/handlers/admin.js';
import { readServeMarker } from '../server/marker.js';
import { FilesystemDriver } from '../storage/filesystem.js';
import { formatDuration, parseDuration } from '../util/duration.js';

export interface GcFlags {
  root?: string;
  registry?: string;
  caFile?: string;
  insecure?: boolean;
  username?: string;
  passwordStdin?: boolean;
  dryRun?: boolean;
  deleteUntagged?: boolean;
  grace: number;
  uploadsOlderThan: number;
  explain: string[];
  yes?: boolean;
  json?: boolean;
}

export interface GcResult {
  /** Where it ran: a root directory, or the URL of the serving registry. */
  target: string;
  report: GcReport;
}

/**
 * Offline on a root, or inside the registry that serves it (found through its marker, or named with
 * --registry), where it is coordinated with pushes. A real run on a terminal is confirmed first.
 */
export async function runGc(flags: GcFlags, deps: CliDeps): Promise<GcResult | undefined> {
  const options: GcOptions = {
    dryRun: Boolean(flags.dryRun),
    deleteUntagged: Boolean(flags.deleteUntagged),
    graceMs: flags.grace,
    uploadsOlderThanMs: flags.uploadsOlderThan,
    explain: flags.explain,
  };
  const { note } = outputFor(flags, deps);
  let target: string;
  let run: (o: GcOptions) => Promise<GcReport>;
  if (flags.registry) {
    target = registryUrl(flags.registry);
    const connection = await adminConnection(flags, deps, target);
    run = (o) => remoteGc(target, o, connection);
  } else {
    const root = resolve(flags.root ?? defaultStorageRoot(deps.env));
    const server = await readServeMarker(root);
    if (server) {
      note(`regctl serve (pid ${server.pid}) is serving ${root}: collecting through it at ${server.url}, safely alongside its pushes`);
      target = server.url;
      const connection = await adminConnection({ ...flags, caFile: flags.caFile ?? server.caFile }, deps, target);
      run = (o) => remoteGc(server.url, o, connection);
    } else {
      target = root;
      run = (o) => collectGarbage(new FilesystemDriver(root), o);
    }
  }
  if (!options.dryRun && !flags.yes && canPrompt(deps)) {
    const preview = await run({ ...options, dryRun: true });
    deps.stderr.write(`${formatReport(target, preview, styleFor(deps.stderr, deps.env))}\n`);
    if (!(await confirm(deps, `Delete ${preview.summary.blobsRemoved} blobs and ${preview.summary.manifestsRemoved} manifests now?`, 'garbage collection cancelled; nothing was removed'))) {
      return undefined;
    }
  }
  return { target, report: await run(options) };
}

/** `[scheme://]host[:port]` as every other command takes it (loopback plain HTTP by default) → the serve's URL. */
function registryUrl(input: string): string {
  const { registry, scheme } = splitScheme(input);
  const url = `${schemeOf(registry, scheme)}://${registry}`;
  if (!URL.canParse(url) || registry === '' || registry.includes('/')) throw new UsageError(`--registry takes host:port or http(s)://host:port, got "${input}"`);
  return url;
}

/** CA and credentials for a secured serve: flags and REGCTL_USERNAME/PASSWORD first, then a stored login. */
async function adminConnection(flags: GcFlags, deps: CliDeps, url: string): Promise<AdminConnection> {
  const options = await connectionOptions(flags, deps);
  const { host, protocol } = new URL(url);
  return {
    ca: options.caFile ? [await readFile(options.caFile, 'utf8')] : undefined,
    insecure: options.insecure,
    credentials: options.credentials ?? (await deps.dockerConfig.get(host)),
    loginHint: clientHints(host, protocol === 'https:' ? 'https' : 'http', options).login,
  };
}

export function formatReport(target: string, report: GcReport, style: ChalkInstance): string {
  const s = report.summary;
  const verb = report.dryRun ? 'would remove' : 'removed';
  const lines = [
    style.bold(`Garbage collection${report.dryRun ? ' (dry run)' : ''} of ${target}: ${s.repositories} repositories, ${report.durationMs} ms`),
    `  ${verb}: ${s.manifestsRemoved} manifests, ${s.blobsRemoved} blobs (${formatBytes(s.bytesFreed)}), ${s.uploadsRemoved} abandoned uploads (${formatBytes(s.uploadBytesFreed)})`,
    `  kept:   ${s.manifestsKept} manifests, ${s.blobsKept} blobs (${formatBytes(s.bytesKept)})`,
    `  rules:  grace ${formatDuration(report.graceSeconds * 1000)}, uploads older than ${formatDuration(report.uploadsOlderThanSeconds * 1000)}${report.deleteUntagged ? ', untagged manifests deleted' : ', untagged manifests kept (--delete-untagged to remove them)'}`,
  ];
  if (report.repositories.length) {
    lines.push('', formatTable(['REPOSITORY', 'MANIFESTS', 'BLOBS', 'FREED'], report.repositories.map((r) => [r.name, String(r.manifestsRemoved), String(r.blobsRemoved), formatBytes(r.bytesFreed)]), style));
  }
  if (report.keptUnreferenced.length) {
    lines.push('', 'Unreferenced but kept:');
    for (const k of report.keptUnreferenced) lines.push(`  ${k.digest}  ${formatBytes(k.size).padStart(8)}  ${k.reason}`);
  }
  if (report.missing.length) {
    lines.push('', style.yellow('Manifests referenced but missing from the store:'));
    for (const m of report.missing) lines.push(`  ${m.repository}@${m.digest}`);
  }
  for (const e of report.explain) {
    lines.push('', `${e.digest}: ${e.kept ? 'kept' : style.red('not kept')} (${e.reason})`);
    if (e.chain) lines.push(`  ${e.chain.join(' → ')}`);
  }
  return lines.join('\n');
}

export function registerGc(program: Command, deps: CliDeps): void {
  program
    .command('gc')
    .description('free the storage no tag reaches; safe while `regctl serve` takes pushes')
    .option('--root <dir>', `storage root (default: ${defaultStorageRoot()}); a regctl serve on it does the work`)
    .option('--registry <url>', 'collect inside this running regctl serve: host:port (loopback: plain HTTP) or http(s)://host:port')
    .option('--ca-file <file>', 'trust this CA for an HTTPS serve (the one of `regctl tls init` is found by itself)')
    .option('--insecure', 'skip TLS certificate verification of the serve')
    .option('-u, --username <name>', 'log in to a serve with --htpasswd (password from --password-stdin or REGCTL_PASSWORD)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--dry-run', 'report what would be removed, remove nothing')
    .option('--delete-untagged', 'also remove manifests no tag reaches (children of tagged indexes and referrers of kept manifests stay)')
    .option('--grace <duration>', 'keep anything written or linked this recently: pushes in progress', durationFlag('--grace'), GC_DEFAULTS.graceMs)
    .option('--uploads-older-than <duration>', 'remove uploads started longer ago than this', durationFlag('--uploads-older-than'), GC_DEFAULTS.uploadsOlderThanMs)
    .option('--explain <digest>', 'say what keeps this blob (repeatable)', collectDigest, [])
    .option('-y, --yes', 'do not ask for confirmation on a terminal')
    .option('--json', 'print the report as one JSON document')
    .action(async (flags: GcFlags) => {
      if (flags.root && flags.registry) throw new UsageError('--root and --registry exclude each other');
      const result = await runGc(flags, deps);
      const out = outputFor(flags, deps);
      if (!result) throw new CliError('garbage collection cancelled; nothing was removed');
      out.result(result, () => formatReport(result.target, result.report, styleFor(deps.stdout, deps.env)));
    });
}

function durationFlag(flag: string): (value: string) => number {
  return (value) => {
    try {
      return parseDuration(value);
    } catch (err) {
      throw new UsageError(`${flag}: ${(err as Error).message}`);
    }
  };
}

function collectDigest(value: string, previous: string[]): string[] {
  try {
    return [...previous, parseDigest(value).value];
  } catch {
    throw new UsageError(`--explain needs a digest like sha256:…, got "${value}"`);
  }
}
