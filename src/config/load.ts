import { readFile } from 'node:fs/promises';
import { CliError, ExitCode } from '../cli/errors.js';
import { defaultServeConfig } from './defaults.js';
import type { ReadResult } from './read-config.js';
import { isConfigVariable } from './variables.js';

/**
 * Defaults, then the file (CNCF config.yml, version 0.1) when given, then `REGISTRY_*` variables.
 * Flags come last, in the caller (applyServeFlags). Problems are ConfigErrors naming the line.
 */
export async function loadServeConfig(options: { file?: string; env: NodeJS.ProcessEnv }): Promise<ReadResult> {
  const { file, env } = options;
  // With nothing to read, the defaults are the answer, and the YAML library stays unloaded: a
  // long-running serve with a smaller heap spends less time in garbage collection during uploads.
  if (!file && !Object.keys(env).some(isConfigVariable)) return { config: defaultServeConfig(env), warnings: [], sources: {} };
  const [{ readServeConfig }, { applyEnvironment, emptyTree, parseConfigText }] = await Promise.all([import('./read-config.js'), import('./source.js')]);
  const tree = file ? parseConfigText(await readConfigFile(file), file) : emptyTree();
  return readServeConfig(applyEnvironment(tree, env), env, Boolean(file));
}

async function readConfigFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`no config file at ${file}; write one with regctl init, or check the path`, ExitCode.notFound);
    throw new CliError(`cannot read ${file} (${code ?? (err as Error).message})`);
  }
}
