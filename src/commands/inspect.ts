import type { Command } from 'commander';
import type { CliDeps } from '../cli/deps.js';
import { addRemoteOptions, parseReference, REFERENCE_HELP, withClient, type RemoteFlags } from '../cli/remote.js';
import { styleFor } from '../cli/style.js';
import { inspectManifest, type Inspection } from '../client/inspect.js';
import { ManifestUnknown } from '../oci/errors.js';
import { formatImageReference } from '../oci/reference.js';
import { renderInspection } from './inspect-view.js';
import { manifestReference } from './references.js';
import { outputFor, withSpinner } from './present.js';

export type InspectResult = { reference: string } & Inspection;

export interface DigestResult {
  digest: string;
}

export async function runInspect(input: string, flags: RemoteFlags, deps: CliDeps): Promise<InspectResult> {
  const ref = parseReference(input, deps);
  const inspection = await withClient(ref, flags, deps, (client) => inspectManifest(client, ref.repository, manifestReference(ref)));
  return { reference: formatImageReference(ref), ...inspection };
}

/** A HEAD request: the registry names the digest without sending the manifest. */
export async function runDigest(input: string, flags: RemoteFlags, deps: CliDeps): Promise<DigestResult> {
  const ref = parseReference(input, deps);
  const head = await withClient(ref, flags, deps, (client) => client.headManifest(ref.repository, manifestReference(ref)));
  if (!head) throw new ManifestUnknown(`${formatImageReference(ref)} is not in the registry`);
  return { digest: head.digest };
}

export function registerInspect(program: Command, deps: CliDeps): void {
  referenceCommand(program, 'inspect', 'show a manifest: digest, media type, size, platforms of an index, config and layers of an image').action(
    async (reference: string, flags: RemoteFlags) => {
      const result = await withSpinner(`inspecting ${reference}`, flags, deps, () => runInspect(reference, flags, deps));
      const { reference: shown, ...inspection } = result;
      outputFor(flags, deps).result(result, () => renderInspection(shown, inspection, styleFor(deps.stdout, deps.env)));
    },
  );
  referenceCommand(program, 'digest', "print a manifest's digest").action(async (reference: string, flags: RemoteFlags) => {
    const result = await runDigest(reference, flags, deps);
    outputFor(flags, deps).result(result, () => result.digest);
  });
}

function referenceCommand(program: Command, name: string, description: string): Command {
  return addRemoteOptions(
    program
      .command(`${name} <reference>`)
      .description(description)
      .addHelpText('after', `\nWithout a tag or digest the tag is "latest". ${REFERENCE_HELP}`),
  );
}
