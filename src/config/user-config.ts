import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

// Loaded only when a config file exists: most runs have none, and every command pays for imports.
const requireLazily = createRequire(import.meta.url);

/** regctl's own settings for its client commands (`$XDG_CONFIG_HOME/regctl/config.yml`). */
interface UserConfig {
  /** Registry used when a reference names none. */
  registry?: string;
}

/** `$REGCTL_CONFIG_DIR`, else `$XDG_CONFIG_HOME/regctl`, else `~/.config/regctl`: config, TLS files, users. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.REGCTL_CONFIG_DIR || join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'regctl');
}

function userConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'config.yml');
}

function loadUserConfig(env: NodeJS.ProcessEnv = process.env): UserConfig {
  const path = userConfigPath(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  const { parse } = requireLazily('yaml') as typeof import('yaml');
  const value = parse(text) as unknown;
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${path}: expected a mapping of settings`);
  const registry = (value as Record<string, unknown>).registry;
  if (registry !== undefined && typeof registry !== 'string') throw new Error(`${path}: "registry" must be a string like localhost:5000`);
  return registry ? { registry } : {};
}

/** `REGCTL_REGISTRY`, else the config file's `registry`, else localhost:5000. */
export function defaultRegistry(env: NodeJS.ProcessEnv = process.env): string {
  return env.REGCTL_REGISTRY || loadUserConfig(env).registry || 'localhost:5000';
}
