import type { Readable, Writable } from 'node:stream';
import { DockerConfigStore, dockerConfigPath } from '../client/credentials.js';

/** Everything a command touches outside itself, passed in so tests can wire real parts together. */
export interface CliDeps {
  env: NodeJS.ProcessEnv;
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  dockerConfig: DockerConfigStore;
  /** Directory of per-registry CAs, Docker's convention (`/etc/docker/certs.d`). */
  certsDir: string;
}

export function processDeps(): CliDeps {
  return {
    env: process.env,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    dockerConfig: new DockerConfigStore(dockerConfigPath(process.env)),
    certsDir: process.env.REGCTL_DOCKER_CERTS_DIR || '/etc/docker/certs.d',
  };
}
