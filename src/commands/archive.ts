import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliDeps } from '../cli/deps.js';
import { UsageError } from '../cli/errors.js';
import { parseReference, withClient, type RemoteFlags } from '../cli/remote.js';
import { openArchive, type ArchiveSource } from '../docker/archive-open.js';
import { writeDockerSave } from '../docker/archive-write.js';
import { formatImageReference, isValidTag, type ImageReference } from '../oci/reference.js';
import type { PullResult, PushedImage, PushResult } from './push.js';

export interface ArchivePushFlags extends RemoteFlags {
  allTags?: boolean;
  /** false with --no-compress. */
  compress?: boolean;
}

/** `regctl push --archive FILE NAME[:TAG]`: no engine, regctl's own client does the pushing. */
export async function runPushArchive(file: string, name: string, flags: ArchivePushFlags, deps: CliDeps): Promise<PushResult> {
  const ref = parseReference(name, deps);
  if (ref.digest) throw new UsageError(`push --archive needs NAME[:TAG], not a digest: "${name}"`);
  if (flags.allTags && ref.tag) throw new UsageError(`--all-tags takes each tag from the archive: give "${formatImageReference({ ...ref, tag: undefined })}" without ":${ref.tag}"`);
  const work = await mkdtemp(join(tmpdir(), 'regctl-archive-'));
  try {
    const targets = pickTargets(await openArchive(file, work), ref, file, Boolean(flags.allTags));
    const pushed = await withClient(ref, flags, deps, async (client) => {
      const done: PushedImage[] = [];
      for (const { image, tag, source } of targets) {
        const result = await image.push(client, ref.repository, tag, flags.compress !== false);
        done.push({ source, reference: formatImageReference({ ...ref, tag }), ...result });
      }
      return done;
    });
    return { registry: ref.registry, pushed };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function pickTargets(images: ArchiveSource[], ref: ImageReference, file: string, allTags: boolean): Array<{ image: ArchiveSource; tag: string; source: string }> {
  if (allTags) {
    const tagged = images.flatMap((image) => image.names.map((name) => ({ image, tag: tagOf(name, file), source: `${file}:${name}` })));
    if (tagged.length === 0) throw new UsageError(`${file} holds no tagged image; name the tag instead of --all-tags`);
    return tagged;
  }
  if (images.length !== 1) {
    const names = images.map((i) => i.names.join(', ') || '(untagged)').join('; ');
    throw new UsageError(`${file} holds ${images.length} images (${names}): push them all with --all-tags`);
  }
  return [{ image: images[0]!, tag: ref.tag ?? 'latest', source: file }];
}

/** "app:1" (docker save) and "1" (an OCI layout ref name) both give the tag "1". */
function tagOf(name: string, file: string): string {
  const tag = name.slice(name.lastIndexOf(':') + 1);
  if (!isValidTag(tag)) throw new UsageError(`${file} names an image "${name}", which has no usable tag: name the tag instead of --all-tags`);
  return tag;
}

/** `regctl pull --archive FILE REF`: a `docker load` tarball, straight from the registry. */
export async function runPullArchive(file: string, input: string, flags: RemoteFlags, deps: CliDeps): Promise<PullResult & { archive: string }> {
  const ref = parseReference(input, deps);
  const tagged = ref.digest && !ref.tag ? ref : { ...ref, tag: ref.tag ?? 'latest' };
  const reference = formatImageReference(tagged);
  const repoTag = tagged.tag ? formatImageReference({ ...tagged, digest: undefined }) : undefined;
  const result = await withClient(ref, flags, deps, (client) => writeDockerSave(client, ref.repository, tagged.digest ?? tagged.tag!, repoTag, file));
  return { reference, ...result, archive: file };
}
