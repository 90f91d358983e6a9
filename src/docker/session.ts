import type { CliDeps } from '../cli/deps.js';
import { connectionOptions, withClient, type RemoteFlags } from '../cli/remote.js';
import type { RegistryClient } from '../client/client.js';
import { credentialChain, type Credentials } from '../client/credentials.js';
import type { DockerEngine } from './engine.js';
import { EngineUnavailable } from './errors.js';
import { assertEngineAcceptsPlainHttp, type RegistryTarget } from './preflight.js';

/**
 * Everything checked around asking the engine to move an image: the engine will accept the
 * registry's scheme (before), the registry answers. `fn` gets a client for proving the result and
 * the credentials to hand the engine, which reads no login of its own.
 *
 * The registry's ping runs alongside `fn` rather than before it: loading the HTTP client and the
 * round trip would otherwise add to every push. When `fn` fails with the engine running, a failed
 * ping is the error reported: the engine's errors for a registry that is down or untrusted are long and generic, the
 * client's name the cause and the fix (e.g. "nothing is listening … start a registry with regctl serve").
 */
export async function withEngineAndRegistry<T>(
  engine: DockerEngine,
  target: RegistryTarget,
  flags: RemoteFlags,
  deps: CliDeps,
  fn: (client: RegistryClient, credentials: Credentials | undefined) => Promise<T>,
): Promise<T> {
  await assertEngineAcceptsPlainHttp(target, Boolean(flags.plainHttp), () => engine.registryConfig());
  return withClient(target, flags, deps, async (client) => {
    const reachable = client.ping();
    // Awaited on both paths below; this only keeps an early rejection from counting as unhandled.
    reachable.catch(() => undefined);
    const credentials = await credentialChain((await connectionOptions(flags, deps)).credentials, deps.dockerConfig)(target.registry);
    let result: T;
    try {
      result = await fn(client, credentials);
    } catch (err) {
      // No engine is the first thing to fix, whatever the registry's state.
      if (!(err instanceof EngineUnavailable)) await reachable;
      throw err;
    }
    await reachable;
    return result;
  });
}
