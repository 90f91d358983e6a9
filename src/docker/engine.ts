import type { Credentials } from '../client/credentials.js';
import { EngineHttp, EngineHttpError } from './engine-http.js';
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
  return new HttpEngine(new EngineHttp(host, env), host);
}

interface ImageJson {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Size: number;
}

class HttpEngine implements DockerEngine {
  constructor(
    private readonly http: EngineHttp,
    readonly host: string,
  ) {}

  registryConfig(): Promise<EngineRegistryConfig> {
    return this.call(async () => {
      const info = await this.http.json<{ RegistryConfig?: { InsecureRegistryCIDRs?: string[]; IndexConfigs?: Record<string, { Secure?: boolean }> } }>({ method: 'GET', path: '/info' });
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
        return imageOf(await this.http.json<ImageJson>({ method: 'GET', path: `/images/${encodeURIComponent(ref)}/json` }));
      } catch (err) {
        if (err instanceof EngineHttpError && err.statusCode === 404) return undefined;
        throw err;
      }
    });
  }

  listImages(): Promise<EngineImage[]> {
    return this.call(async () => (await this.http.json<ImageJson[]>({ method: 'GET', path: '/images/json' })).map(imageOf));
  }

  tag(source: string, repository: string, tag: string): Promise<void> {
    return this.call(async () => {
      (await this.http.stream({ method: 'POST', path: `/images/${encodeURIComponent(source)}/tag`, query: { repo: repository, tag } })).resume();
    });
  }

  push(repository: string, tag: string, options: TransferOptions = {}): Promise<ProgressOutcome> {
    return this.call(async () => {
      const stream = await this.http.stream({ method: 'POST', path: `/images/${encodeURIComponent(repository)}/push`, query: { tag }, headers: authHeader(repository, options.credentials) });
      return consumeProgress(stream, options.onProgress);
    });
  }

  pull(reference: string, options: TransferOptions = {}): Promise<ProgressOutcome> {
    return this.call(async () => {
      const stream = await this.http.stream({ method: 'POST', path: '/images/create', query: { fromImage: reference }, headers: authHeader(reference, options.credentials) });
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

function imageOf(i: ImageJson): EngineImage {
  return { id: i.Id, repoTags: i.RepoTags ?? [], repoDigests: i.RepoDigests ?? [], size: i.Size };
}

/**
 * The engine reads no credentials of its own: the client sends them with each push or pull, as
 * base64url JSON. Without credentials the header still goes, empty, as the docker CLI sends it.
 */
function authHeader(reference: string, credentials: Credentials | undefined): Record<string, string> {
  const auth = credentials ? { ...credentials, serveraddress: reference.split('/')[0]! } : {};
  return { 'X-Registry-Auth': Buffer.from(JSON.stringify(auth)).toString('base64url') };
}
