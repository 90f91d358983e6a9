import type { CliDeps } from '../cli/deps.js';
import { connectionOptions, withClient, type RemoteFlags } from '../cli/remote.js';
import type { RegistryClient } from '../client/client.js';
import { credentialChain, type Credentials } from '../client/credentials.js';
import type { DockerEngine } from './engine.js';
import { assertEngineAcceptsPlainHttp, type RegistryTarget } from './preflight.js';

/**
 * Everything checked before the engine is asked to move an image: the engine answers and will
 * accept the registry's scheme, the registry answers. `fn` gets a client for proving the result and
 * the credentials to hand the engine, which reads no login of its own.
 */
export async function withEngineAndRegistry<T>(
  engine: DockerEngine,
  target: RegistryTarget,
  flags: RemoteFlags,
  deps: CliDeps,
  fn: (client: RegistryClient, credentials: Credentials | undefined) => Promise<T>,
): Promise<T> {
  await assertEngineAcceptsPlainHttp(target, Boolean(flags.plainHttp), await engine.registryConfig());
  return withClient(target, flags, deps, async (client) => {
    // The engine's errors for a registry that is down or untrusted are long and generic; the
    // client's name the cause and the fix (e.g. "nothing is listening … start a registry with regctl serve").
    await client.ping();
    const credentials = await credentialChain((await connectionOptions(flags, deps)).credentials, deps.dockerConfig)(target.registry);
    return fn(client, credentials);
  });
}
