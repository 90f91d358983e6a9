import type { Command } from 'commander';
import type { CliDeps } from '../cli/deps.js';
import { addRemoteOptions, parseReference, parseRegistry, withClient, type RemoteFlags } from '../cli/remote.js';
import { formatBytes, formatTable, styleFor } from '../cli/style.js';
import { createDockerEngine, type DockerEngine } from '../docker/engine.js';
import { mapLimit } from '../util/concurrency.js';
import { outputFor } from './present.js';

export interface LocalImage {
  /** The engine's name for it, `name:tag`. */
  name: string;
  id: string;
  size: number;
  /** Where `regctl push <name>` puts it. */
  remote: string;
  /** The digest the registry serves at `remote`, if any. */
  registryDigest?: string;
  /** The registry's manifest is the one the engine last pushed or pulled for this image. */
  current: boolean;
}

export interface ImagesResult {
  registry: string;
  images: LocalImage[];
}

// HEAD requests are small; a few at a time keeps a long image list quick without flooding the registry.
const HEAD_CONCURRENCY = 8;

export async function runImages(flags: RemoteFlags & { registry?: string }, deps: CliDeps, engine: DockerEngine = createDockerEngine(deps.env)): Promise<ImagesResult> {
  const target = parseRegistry(flags.registry, deps);
  const named = (await engine.listImages()).flatMap((image) =>
    image.repoTags.filter((name) => name !== '<none>:<none>').map((name) => ({ name, image, ref: parseReference(name, deps) })),
  );
  const images = await withClient(target, flags, deps, (client) =>
    mapLimit(named, HEAD_CONCURRENCY, async ({ name, image, ref }): Promise<LocalImage> => {
      const tag = ref.tag ?? 'latest';
      const head = await client.headManifest(ref.repository, tag);
      return {
        name,
        id: image.id,
        size: image.size,
        remote: `${target.registry}/${ref.repository}:${tag}`,
        ...(head && { registryDigest: head.digest }),
        current: Boolean(head && image.repoDigests.includes(`${target.registry}/${ref.repository}@${head.digest}`)),
      };
    }),
  );
  return { registry: target.registry, images: images.sort((a, b) => a.name.localeCompare(b.name)) };
}

function presence(image: LocalImage): string {
  if (!image.registryDigest) return 'no';
  return image.current ? 'yes' : 'yes, other digest';
}

export function registerImages(program: Command, deps: CliDeps): void {
  addRemoteOptions(
    program
      .command('images')
      .description('list the Docker engine\'s images and whether the registry has each (where "regctl push" would put it)')
      .option('--registry <host:port>', 'the registry to compare with (default: $REGCTL_REGISTRY, config, localhost:5000)'),
  ).action(async (flags: RemoteFlags & { registry?: string }) => {
    const result = await runImages(flags, deps);
    const style = styleFor(deps.stdout, deps.env);
    outputFor(flags, deps).result(result, () =>
      result.images.length
        ? formatTable(
            ['IMAGE', 'ID', 'SIZE', `IN ${result.registry}`],
            result.images.map((i) => [i.name, i.id.replace(/^sha256:/, '').slice(0, 12), formatBytes(i.size), presence(i)]),
            style,
          )
        : '(no tagged images in the Docker engine)',
    );
  });
}
