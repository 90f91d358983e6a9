import type { Command } from 'commander';
import type { CliDeps } from '../cli/deps.js';
import { CliError, ExitCode, UsageError } from '../cli/errors.js';
import { addRemoteOptions, parseReference, parseRegistry, REFERENCE_HELP, type RemoteFlags } from '../cli/remote.js';
import { progressView, type ProgressView } from '../docker/display.js';
import { createDockerEngine, type DockerEngine } from '../docker/engine.js';
import { countLayers, type LayerCounts } from '../docker/progress.js';
import { withEngineAndRegistry } from '../docker/session.js';
import { formatImageReference } from '../oci/reference.js';
import type { ArchivePushFlags } from './archive.js';
import { outputFor } from './present.js';

export interface PushFlags extends ArchivePushFlags {
  registry?: string;
  as?: string;
  archive?: string;
}

export interface PushedImage {
  /** The local image, as named on the command line or by its tags. */
  source: string;
  reference: string;
  digest: string;
  id: string;
  layers: LayerCounts;
}

export interface PushResult {
  registry: string;
  pushed: PushedImage[];
}

export interface PullResult {
  reference: string;
  digest: string;
  id: string;
  layers: LayerCounts;
}

/** Makes the progress display for one transfer; undefined draws nothing. */
export type ProgressFactory = (title: string) => ProgressView | undefined;

interface PlannedPush {
  source: string;
  id: string;
  repository: string;
  tag: string;
}

export async function runPush(
  inputs: string[],
  flags: PushFlags,
  deps: CliDeps,
  engine: DockerEngine = createDockerEngine(deps.env),
  progress: ProgressFactory = () => undefined,
): Promise<PushResult> {
  if (flags.as && (inputs.length !== 1 || flags.allTags)) throw new UsageError('--as names one image: give exactly one IMAGE and no --all-tags');
  const target = parseRegistry(flags.registry, deps);
  const plan = await planPushes(inputs, flags, deps, engine);
  return withEngineAndRegistry(engine, target, flags, deps, async (client, credentials) => {
    const pushed: PushedImage[] = [];
    for (const item of plan) {
      const remote = `${target.registry}/${item.repository}`;
      const reference = `${remote}:${item.tag}`;
      await engine.tag(item.id, remote, item.tag);
      const view = progress(`pushing ${item.source} to ${reference}`);
      const outcome = await engine.push(remote, item.tag, { credentials, onProgress: view && ((e) => view.event(e)) });
      view?.finish();
      // The engine's word is not proof: the registry must now serve the manifest, with that digest.
      const head = await client.headManifest(item.repository, item.tag);
      if (!head) throw new CliError(`the engine reported ${reference} pushed, but the registry has no such manifest`);
      if (outcome.digest && outcome.digest !== head.digest) {
        throw new CliError(`the engine pushed ${reference} as ${outcome.digest}, but the registry serves ${head.digest}`);
      }
      pushed.push({ source: item.source, reference, digest: head.digest, id: item.id, layers: countLayers(outcome.layers) });
    }
    return { registry: target.registry, pushed };
  });
}

/** Resolves every local image before anything is pushed, so a typo fails before the first upload. */
async function planPushes(inputs: string[], flags: PushFlags, deps: CliDeps, engine: DockerEngine): Promise<PlannedPush[]> {
  const rename = flags.as ? parseReference(flags.as, deps) : undefined;
  const plan: PlannedPush[] = [];
  for (const input of inputs) {
    const local = parseReference(input, deps);
    const sources = flags.allTags ? await localTags(input, local.tag, engine) : [input];
    for (const source of sources) {
      const image = await engine.inspectImage(source);
      if (!image) throw new CliError(`no image "${source}" in the Docker engine (docker images lists them)`, ExitCode.notFound);
      const tag = flags.allTags ? source.slice(source.lastIndexOf(':') + 1) : (rename?.tag ?? local.tag ?? 'latest');
      plan.push({ source, id: image.id, repository: rename?.repository ?? local.repository, tag });
    }
  }
  return plan;
}

async function localTags(name: string, tag: string | undefined, engine: DockerEngine): Promise<string[]> {
  if (tag) throw new UsageError(`--all-tags pushes every tag of a repository: give "${name.slice(0, name.lastIndexOf(':'))}" without ":${tag}"`);
  const tags = (await engine.listImages()).flatMap((image) => image.repoTags).filter((t) => t.slice(0, t.lastIndexOf(':')) === name);
  if (tags.length === 0) throw new CliError(`no tags of "${name}" in the Docker engine`, ExitCode.notFound);
  return tags.sort();
}

export async function runPull(
  input: string,
  flags: RemoteFlags,
  deps: CliDeps,
  engine: DockerEngine = createDockerEngine(deps.env),
  progress: ProgressFactory = () => undefined,
): Promise<PullResult> {
  const ref = parseReference(input, deps);
  const reference = formatImageReference(ref.digest || ref.tag ? ref : { ...ref, tag: 'latest' });
  return withEngineAndRegistry(engine, ref, flags, deps, async (_client, credentials) => {
    const view = progress(`pulling ${reference}`);
    const outcome = await engine.pull(reference, { credentials, onProgress: view && ((e) => view.event(e)) });
    view?.finish();
    const image = await engine.inspectImage(reference);
    if (!image) throw new CliError(`the engine reported ${reference} pulled, but has no such image`);
    const digest = outcome.digest ?? ref.digest;
    if (!digest) throw new CliError(`the engine pulled ${reference} without reporting its digest`);
    return { reference, digest, id: image.id, layers: countLayers(outcome.layers) };
  });
}

// Archives are loaded on use: tar and gzip handling would otherwise add to every command's start-up.
async function pushArchive(file: string, names: string[], flags: PushFlags, deps: CliDeps): Promise<PushResult> {
  if (names.length !== 1 || flags.as || flags.registry) {
    throw new UsageError('push --archive FILE takes one NAME[:TAG], which names the registry too (no --as or --registry)');
  }
  const { runPushArchive } = await import('./archive.js');
  return runPushArchive(file, names[0]!, flags, deps);
}

function progressFor(flags: RemoteFlags, deps: CliDeps): ProgressFactory {
  return (title) => progressView(deps.stderr, title, !flags.json);
}

function layerSummary(layers: LayerCounts, verb: string): string {
  return `${layers.transferred} ${verb}, ${layers.existing} already there`;
}

export function registerPush(program: Command, deps: CliDeps): void {
  addRemoteOptions(
    program
      .command('push <images...>')
      .description('push images from the Docker engine to the registry, then check the registry serves them')
      .option('--registry <host:port>', 'the registry to push to (default: $REGCTL_REGISTRY, config, localhost:5000)')
      .option('--as <name[:tag]>', 'push the one IMAGE under another name')
      .option('--all-tags', 'push every local tag of each IMAGE (a repository name, without a tag), or every tag in the --archive')
      .option('--archive <file>', 'push a docker save tarball, or an OCI image layout (directory or tar), to NAME[:TAG] (the one argument) with regctl\'s own client: no engine needed')
      .option('--no-compress', 'with a docker save --archive: push layers as plain tars instead of gzipping them')
      .addHelpText(
        'after',
        '\nIMAGE[:TAG] is a local image (tag "latest" when omitted); it is tagged <registry>/IMAGE:TAG in the engine and pushed there.\n' +
          'Examples:\n  regctl push myapp:1.0 --registry localhost:5000\n  docker save myapp:1.0 -o app.tar && regctl push --archive app.tar localhost:5000/myapp:1.0\n\n' +
          `With --archive, NAME is a reference: ${REFERENCE_HELP}`,
      ),
  ).action(async (images: string[], flags: PushFlags) => {
    const result = flags.archive ? await pushArchive(flags.archive, images, flags, deps) : await runPush(images, flags, deps, undefined, progressFor(flags, deps));
    outputFor(flags, deps).result(result, () =>
      result.pushed.map((p) => `pushed ${p.reference} ${p.digest} (layers: ${layerSummary(p.layers, 'uploaded')})`).join('\n'),
    );
  });
  addRemoteOptions(
    program
      .command('pull <reference>')
      .description('pull an image from a registry into the Docker engine, or into a tarball docker load accepts')
      .option('--archive <file>', 'write the image to this docker save tarball instead: no engine needed')
      .addHelpText('after', `\nWithout a tag or digest the tag is "latest". ${REFERENCE_HELP}`),
  ).action(async (reference: string, flags: RemoteFlags & { archive?: string }) => {
    const result = flags.archive
      ? await (await import('./archive.js')).runPullArchive(flags.archive, reference, flags, deps)
      : await runPull(reference, flags, deps, undefined, progressFor(flags, deps));
    outputFor(flags, deps).result(result, () =>
      'archive' in result
        ? `saved ${result.reference} ${result.digest} to ${result.archive} (image ${result.id}, ${result.layers.transferred} layer${result.layers.transferred === 1 ? '' : 's'})`
        : `pulled ${result.reference} ${result.digest} as ${result.id} (layers: ${layerSummary(result.layers, 'downloaded')})`,
    );
  });
}
