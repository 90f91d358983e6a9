import type { Command } from 'commander';
import type { CliDeps } from '../cli/deps.js';
import { CliError, ExitCode, UsageError } from '../cli/errors.js';
import { addRemoteOptions, connectionOptions, parseReference, REFERENCE_HELP, type RemoteFlags } from '../cli/remote.js';
import type { RegistryClient } from '../client/client.js';
import { connect } from '../client/connect.js';
import { OciError } from '../oci/errors.js';
import { formatImageReference, type ImageReference } from '../oci/reference.js';
import { outputFor } from './present.js';

export type RmOutcome = RmDone | RmFailed;

export interface RmDone {
  reference: string;
  /** A tag was untagged; a manifest (and with it every tag on it) was deleted. */
  removed: 'tag' | 'manifest';
  digest: string;
}

export interface RmFailed {
  reference: string;
  error: string;
  exitCode: ExitCode;
}

export interface RmResult {
  results: RmOutcome[];
}

const DELETES_DISABLED =
  'the registry has deletes disabled (405 UNSUPPORTED): for the CNCF registry set storage.delete.enabled: true ' +
  '(REGISTRY_STORAGE_DELETE_ENABLED=true); for regctl serve drop --no-delete';
const READ_ONLY =
  'the registry is read-only (405): for the CNCF registry set storage.maintenance.readonly.enabled: false; for regctl serve drop --read-only';

/**
 * Removes each reference in turn, going on after a refusal so one bad reference does not hide what
 * happened to the others. Failures the registry reports per reference come back in the result;
 * failures to reach or log in to a registry end the run, as they would repeat for every reference.
 */
export async function runRm(inputs: string[], flags: RemoteFlags, deps: CliDeps): Promise<RmResult> {
  // All references are checked before anything is deleted, so a typo never leaves a half-done run.
  const refs = inputs.map((input) => removable(input, deps));
  // Read once for every registry: --password-stdin can be consumed only once.
  const options = await connectionOptions(flags, deps);
  const clients = new Map<string, RegistryClient>();
  try {
    const results: RmOutcome[] = [];
    for (const ref of refs) {
      const key = `${ref.scheme ?? ''}//${ref.registry}`;
      let client = clients.get(key);
      if (!client) clients.set(key, (client = await connect(ref.registry, ref.scheme, options)));
      results.push(await removeOne(client, ref));
    }
    return { results };
  } finally {
    await Promise.all([...clients.values()].map((c) => c.close()));
  }
}

function isFailure(outcome: RmOutcome): outcome is RmFailed {
  return 'error' in outcome;
}

function removable(input: string, deps: CliDeps): ImageReference {
  const ref = parseReference(input, deps);
  if (!ref.tag && !ref.digest) {
    throw new UsageError(`"${input}" names no tag or digest: write ${input}:TAG to untag, or ${input}@DIGEST to delete a manifest`);
  }
  if (ref.tag && ref.digest) {
    throw new UsageError(`"${input}" names both a tag and a digest: give the tag to untag, or the digest to delete the manifest`);
  }
  return ref;
}

async function removeOne(client: RegistryClient, ref: ImageReference): Promise<RmOutcome> {
  const reference = formatImageReference(ref);
  const target = (ref.digest ?? ref.tag)!;
  let digest = ref.digest;
  try {
    // Resolving the tag first tells "no such tag" apart from a refusal, and names what was untagged.
    digest ??= (await client.headManifest(ref.repository, target))?.digest;
    if (!digest) return { reference, error: `cannot remove ${reference}: it is not in the registry`, exitCode: ExitCode.notFound };
    await client.deleteManifest(ref.repository, target);
    return { reference, removed: ref.tag ? 'tag' : 'manifest', digest };
  } catch (err) {
    if (!(err instanceof OciError)) throw err;
    return { reference, ...explain(err, ref, digest) };
  }
}

function explain(err: OciError, ref: ImageReference, digest: string | undefined): { error: string; exitCode: ExitCode } {
  const reference = formatImageReference(ref);
  if (err.code === 'UNSUPPORTED') {
    // regctl serve says "read-only mode"; the CNCF registry in read-only mode has no DELETE route at all.
    const reason = /read-only|method not allowed/i.test(err.message) ? READ_ONLY : DELETES_DISABLED;
    return { error: `cannot remove ${reference}: ${reason}`, exitCode: ExitCode.failure };
  }
  if (ref.tag && digest && err.code === 'DIGEST_INVALID') {
    // The CNCF registry before 3.0 reads the reference of a DELETE as a digest and cannot untag.
    const byDigest = formatImageReference({ registry: ref.registry, repository: ref.repository, digest });
    return {
      error: `cannot untag ${reference}: ${ref.registry} deletes manifests only by digest, and deleting ${digest} removes every tag that points at it; if that is what you want: regctl rm ${byDigest}`,
      exitCode: ExitCode.failure,
    };
  }
  const exitCode = err.status === 404 ? ExitCode.notFound : err.status === 401 || err.status === 403 ? ExitCode.authRefused : ExitCode.failure;
  return { error: `cannot remove ${reference}: ${err.message} (${err.code})`, exitCode };
}

/** The run's exit code: the failures' own when they agree, else plain failure. */
function exitCodeOf(failures: RmFailed[]): ExitCode {
  const codes = new Set(failures.map((f) => f.exitCode));
  return codes.size === 1 ? failures[0]!.exitCode : ExitCode.failure;
}

export function registerRm(program: Command, deps: CliDeps): void {
  addRemoteOptions(
    program
      .command('rm <references...>')
      .description('untag (REPO:TAG) or delete a manifest (REPO@DIGEST) on the registry')
      .addHelpText(
        'after',
        '\nA tag is untagged: the manifest stays, with any other tags. A digest deletes the manifest and every tag on it; ' +
          `its blobs stay until the registry's garbage collection.\n\n${REFERENCE_HELP}`,
      ),
  ).action(async (references: string[], flags: RemoteFlags) => {
    const result = await runRm(references, flags, deps);
    const output = outputFor(flags, deps);
    const failures = result.results.filter(isFailure);
    const done = result.results.filter((r): r is RmDone => !isFailure(r));
    if (output.json || done.length > 0) {
      output.result(result, () =>
        done.map((r) => (r.removed === 'tag' ? `untagged ${r.reference} (${r.digest})` : `deleted ${r.reference}`)).join('\n'),
      );
    }
    if (failures.length === 0) return;
    if (failures.length === 1) throw new CliError(failures[0]!.error, failures[0]!.exitCode);
    for (const f of failures) output.note(`regctl: ${f.error}`);
    throw new CliError(`${failures.length} of ${result.results.length} references were not removed`, exitCodeOf(failures));
  });
}
