import type { ChalkInstance } from 'chalk';
import { Option, type Command } from 'commander';
import type { CliDeps } from '../cli/deps.js';
import { outputFor } from './present.js';
import { addRemoteOptions, connectionOptions, parsePositiveInt, parseReference, REFERENCE_HELP, type RemoteFlags } from '../cli/remote.js';
import { formatBytes, styleFor } from '../cli/style.js';
import type { RegistryClient } from '../client/client.js';
import { connect } from '../client/connect.js';
import { copyImage, DEFAULT_COPY_CONCURRENCY, type BlobOutcome, type CopyEvent, type CopyStats } from '../client/copy.js';
import { formatImageReference } from '../oci/reference.js';

export interface CopyFlags extends RemoteFlags {
  referrers?: boolean;
  concurrency?: number;
}

export interface CopyResult extends CopyStats {
  source: string;
  destination: string;
}

/** Docker's convention: a reference with neither tag nor digest means `latest`. */
const IMPLIED_TAG = 'latest';

export async function runCopy(
  sourceArg: string,
  destinationArg: string,
  flags: CopyFlags,
  deps: CliDeps,
  onEvent?: (event: CopyEvent) => void,
): Promise<CopyResult> {
  const src = parseReference(sourceArg, deps);
  const dst = parseReference(destinationArg, deps);
  const sourceTag = src.tag ?? (src.digest ? undefined : IMPLIED_TAG);
  // A destination without a tag keeps the source's; one named by digest is pushed by digest.
  const tag = dst.tag ?? (dst.digest ? undefined : sourceTag);
  // Read once: --password-stdin cannot be read a second time for the second registry.
  const options = await connectionOptions(flags, deps);
  const clients: RegistryClient[] = [];
  try {
    const sourceClient = await connect(src.registry, src.scheme, options);
    clients.push(sourceClient);
    // One client for one registry: one connection pool, one login, and mounts instead of copies.
    const destinationClient =
      src.registry === dst.registry && src.scheme === dst.scheme ? sourceClient : await connect(dst.registry, dst.scheme, options);
    if (destinationClient !== sourceClient) clients.push(destinationClient);
    const stats = await copyImage(
      { client: sourceClient, repository: src.repository, reference: src.digest ?? sourceTag! },
      { client: destinationClient, repository: dst.repository },
      { tag, digest: dst.digest, referrers: flags.referrers, concurrency: flags.concurrency, onEvent },
    );
    return {
      source: formatImageReference({ ...src, tag: sourceTag }),
      destination: formatImageReference({ ...dst, tag, digest: tag ? dst.digest : stats.digest }),
      ...stats,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

export function registerCopy(program: Command, deps: CliDeps): void {
  addRemoteOptions(
    program
      .command('copy <source> <destination>')
      .description('copy an image or index, with all it references, between repositories on one or two registries')
      .option('--referrers', 'also copy the manifests that refer to it (signatures, SBOMs, attestations), recursively')
      .addOption(new Option('--concurrency <n>', 'blobs to copy at once').argParser(parsePositiveInt).default(DEFAULT_COPY_CONCURRENCY))
      .addHelpText(
        'after',
        `\nA destination without a tag gets the source's tag; a source by digest is copied by digest. Blobs the ` +
          `destination has are skipped, and within one registry they are mounted rather than copied. ` +
          `--username and --password-stdin apply to both registries; otherwise each uses its own login.\n\n${REFERENCE_HELP}`,
      ),
  ).action(async (source: string, destination: string, flags: CopyFlags) => {
    const output = outputFor(flags, deps);
    const style = styleFor(deps.stderr, deps.env);
    const started = performance.now();
    const progress = !flags.json && deps.stderr.isTTY ? await progressDisplay(deps, style) : undefined;
    let result: CopyResult;
    try {
      result = await runCopy(source, destination, flags, deps, progress?.onEvent);
    } finally {
      progress?.stop();
    }
    const seconds = (performance.now() - started) / 1000;
    output.result(result, () => summary(result, seconds, styleFor(deps.stdout, deps.env)));
  });
}

function summary(r: CopyResult, seconds: number, style: ChalkInstance): string {
  const manifests = `${r.manifests}${r.referrers ? ` (${r.referrers} referrer${r.referrers === 1 ? '' : 's'})` : ''}`;
  return [
    `${style.green('Copied')} ${r.source} → ${r.destination} in ${seconds.toFixed(1)} s`,
    `  digest     ${r.digest}`,
    `  manifests  ${manifests}`,
    `  blobs      ${r.blobs.copied} copied (${formatBytes(r.bytesCopied)}), ${r.blobs.skipped} already there, ${r.blobs.mounted} mounted`,
  ].join('\n');
}

const OUTCOME_COLOUR = { copied: 'green', exists: 'dim', mounted: 'cyan' } as const satisfies Record<BlobOutcome, keyof ChalkInstance>;

/**
 * A line for each blob and manifest as it lands, under a spinner with the running totals where the
 * terminal can redraw one: ora never finishes clearing on a terminal that reports 0 columns (`script`,
 * some CI runners), and TERM=dumb cannot move the cursor.
 */
async function progressDisplay(deps: CliDeps, style: ChalkInstance): Promise<{ onEvent: (e: CopyEvent) => void; stop: () => void }> {
  const columns = (deps.stderr as { columns?: number }).columns ?? 0;
  // Loaded only when it spins: scripts and --json do not pay for it at startup.
  const spinner =
    columns > 0 && deps.env.TERM !== 'dumb'
      ? (await import('ora'))
          .default({ stream: deps.stderr, isEnabled: true, discardStdin: false, color: style.level > 0 && 'cyan', text: 'reading manifests' })
          .start()
      : undefined;
  const totals = { blobs: 0, bytes: 0 };
  const done = { blobs: 0, bytes: 0 };
  const status = (text: string): void => {
    if (spinner) spinner.text = text;
  };
  const line = (text: string): void => {
    spinner?.clear();
    deps.stderr.write(`${text}\n`);
    spinner?.render();
  };
  const counts = (): string => `blobs ${done.blobs}/${totals.blobs}, ${formatBytes(done.bytes)} of ${formatBytes(totals.bytes)}`;
  const onEvent = (event: CopyEvent): void => {
    switch (event.type) {
      case 'planned':
        Object.assign(totals, { blobs: event.blobs, bytes: event.bytes });
        status(counts());
        break;
      case 'bytes':
        done.bytes += event.bytes;
        status(counts());
        break;
      case 'blob': {
        const { digest, size } = event.descriptor;
        done.blobs++;
        if (event.outcome !== 'copied') done.bytes += size;
        status(done.blobs === totals.blobs ? 'pushing manifests' : counts());
        line(`  ${style.dim(shortDigest(digest))}  ${formatBytes(size).padStart(8)}  ${style[OUTCOME_COLOUR[event.outcome]](event.outcome)}`);
        break;
      }
      case 'manifest':
        line(`  ${style.dim(shortDigest(event.digest))}  manifest  ${event.reference === event.digest ? '' : event.reference}`.trimEnd());
        break;
    }
  };
  return { onEvent, stop: () => spinner?.stop() };
}

function shortDigest(digest: string): string {
  return digest.slice(0, 'sha256:'.length + 12);
}
