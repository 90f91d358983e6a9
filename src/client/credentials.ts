import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writePrivateFile } from '../util/private-file.js';

export interface Credentials {
  username: string;
  password: string;
}

/** Looks up credentials for a registry host (`host:port`). */
export type CredentialSource = (registry: string) => Promise<Credentials | undefined>;

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  [key: string]: unknown;
}

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`: shared with `docker login`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker'), 'config.json');
}

/**
 * Credentials are stored the way Docker stores them (`auths[host].auth` = base64 "user:password"), so
 * `docker login` and `regctl login` see each other's logins. Credential helpers (credsStore) are
 * not consulted: their secrets live outside this file.
 */
export class DockerConfigStore {
  constructor(readonly path: string = dockerConfigPath()) {}

  async get(registry: string): Promise<Credentials | undefined> {
    const auths = (await this.read()).auths ?? {};
    for (const key of candidateKeys(registry)) {
      const entry = auths[key];
      if (!entry) continue;
      if (entry.auth) {
        const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
      }
      if (entry.username && entry.password) return { username: entry.username, password: entry.password };
    }
    return undefined;
  }

  async set(registry: string, credentials: Credentials): Promise<void> {
    const config = await this.read();
    config.auths ??= {};
    config.auths[registry] = { auth: Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64') };
    await this.write(config);
  }

  /** Returns whether there was a login to remove. */
  async remove(registry: string): Promise<boolean> {
    const config = await this.read();
    let removed = false;
    for (const key of candidateKeys(registry)) {
      if (config.auths?.[key]) {
        delete config.auths[key];
        removed = true;
      }
    }
    if (removed) await this.write(config);
    return removed;
  }

  private async read(): Promise<DockerConfig> {
    try {
      return JSON.parse(await readFile(this.path, 'utf8')) as DockerConfig;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new Error(`cannot read ${this.path}: ${(err as Error).message}`);
    }
  }

  private async write(config: DockerConfig): Promise<void> {
    await writePrivateFile(this.path, `${JSON.stringify(config, null, '\t')}\n`);
  }
}

/** Docker writes some hosts with a scheme (`https://index.docker.io/v1/`); match those too. */
function candidateKeys(registry: string): string[] {
  return [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`, `https://${registry}/v2/`];
}

/** Explicit credentials (flags, environment) win over the stored ones. */
export function credentialChain(explicit: Credentials | undefined, store: DockerConfigStore | undefined): CredentialSource {
  return async (registry) => explicit ?? (await store?.get(registry));
}
