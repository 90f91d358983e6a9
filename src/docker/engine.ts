import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import type Docker from 'dockerode';
import type { Credentials } from '../client/credentials.js';
import { translateEngineError } from './errors.js';
import { consumeProgress, type ProgressEvent, type ProgressOutcome } from './progress.js';

export interface EngineImage {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
}

/** The engine's registry trust settings (daemon.json `insecure-registries`). */
export interface EngineRegistryConfig {
  insecureCidrs: string[];
  /** host[:port] → whether the engine insists on verified TLS for it. */
  secure: Record<string, boolean>;
}

export interface TransferOptions {
  credentials?: Credentials;
  onProgress?: (event: ProgressEvent) => void;
}

/** The part of the Docker Engine API regctl uses; every failure arrives as an EngineUnavailable or EngineError. */
export interface DockerEngine {
  /** Where the engine was looked for, as DOCKER_HOST would name it. */
  readonly host: string;
  registryConfig(): Promise<EngineRegistryConfig>;
  /** undefined when the engine has no such image. */
  inspectImage(ref: string): Promise<EngineImage | undefined>;
  listImages(): Promise<EngineImage[]>;
  tag(source: string, repository: string, tag: string): Promise<void>;
  /** Pushes `repository:tag`; a progress stream that ends in an error event rejects. */
  push(repository: string, tag: string, options?: TransferOptions): Promise<ProgressOutcome>;
  /** `reference` is `host/name:tag` or `host/name@digest`. */
  pull(reference: string, options?: TransferOptions): Promise<ProgressOutcome>;
}

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/** Finds the engine the way the docker CLI does without a context: DOCKER_HOST, else the default socket. */
export function createDockerEngine(env: NodeJS.ProcessEnv): DockerEngine {
  const host = env.DOCKER_HOST || DEFAULT_DOCKER_HOST;
  // Loaded only here: dockerode brings gRPC, protobuf and SSH along, a quarter second every command would pay.
  const Dockerode = createRequire(import.meta.url)('dockerode') as typeof Docker;
  return new DockerodeEngine(new Dockerode(modemOptions(host, env)), host);
}

function modemOptions(host: string, env: NodeJS.ProcessEnv): Docker.DockerOptions {
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  const url = new URL(host.replace(/^tcp:/, env.DOCKER_TLS_VERIFY ? 'https:' : 'http:'));
  const options: Docker.DockerOptions = { host: url.hostname, port: url.port || (url.protocol === 'https:' ? 2376 : 2375), protocol: url.protocol.slice(0, -1) as 'http' | 'https' };
  if (url.protocol === 'https:') {
    const certs = env.DOCKER_CERT_PATH || join(env.HOME ?? '', '.docker');
    options.ca = readFileSync(join(certs, 'ca.pem'));
    options.cert = readFileSync(join(certs, 'cert.pem'));
    options.key = readFileSync(join(certs, 'key.pem'));
  }
  return options;
}

class DockerodeEngine implements DockerEngine {
  constructor(
    private readonly docker: Docker,
    readonly host: string,
  ) {}

  registryConfig(): Promise<EngineRegistryConfig> {
    return this.call(async () => {
      const info = (await this.docker.info()) as { RegistryConfig?: { InsecureRegistryCIDRs?: string[]; IndexConfigs?: Record<string, { Secure?: boolean }> } };
      const indexes = info.RegistryConfig?.IndexConfigs ?? {};
      return {
        insecureCidrs: info.RegistryConfig?.InsecureRegistryCIDRs ?? [],
        secure: Object.fromEntries(Object.entries(indexes).map(([name, config]) => [name, config.Secure !== false])),
      };
    });
  }

  inspectImage(ref: string): Promise<EngineImage | undefined> {
    return this.call(async () => {
      try {
        const info = await this.docker.getImage(ref).inspect();
        return { id: info.Id, repoTags: info.RepoTags ?? [], repoDigests: info.RepoDigests ?? [], size: info.Size };
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) return undefined;
        throw err;
      }
    });
  }

  listImages(): Promise<EngineImage[]> {
    return this.call(async () =>
      (await this.docker.listImages()).map((i) => ({ id: i.Id, repoTags: i.RepoTags ?? [], repoDigests: i.RepoDigests ?? [], size: i.Size })),
    );
  }

  tag(source: string, repository: string, tag: string): Promise<void> {
    return this.call(async () => {
      await this.docker.getImage(source).tag({ repo: repository, tag });
    });
  }

  push(repository: string, tag: string, options: TransferOptions = {}): Promise<ProgressOutcome> {
    return this.call(async () => {
      const stream = (await this.docker.getImage(repository).push({ tag, authconfig: authConfig(repository, options.credentials) })) as Readable;
      return consumeProgress(stream, options.onProgress);
    });
  }

  pull(reference: string, options: TransferOptions = {}): Promise<ProgressOutcome> {
    return this.call(async () => {
      const stream = (await this.docker.pull(reference, { authconfig: authConfig(reference, options.credentials) })) as Readable;
      return consumeProgress(stream, options.onProgress);
    });
  }

  private async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw translateEngineError(err, this.host);
    }
  }
}

/** The engine reads no credentials of its own: the client sends them with each push or pull. */
function authConfig(reference: string, credentials: Credentials | undefined): Docker.AuthConfig | undefined {
  return credentials && { ...credentials, serveraddress: reference.split('/')[0]! };
}
