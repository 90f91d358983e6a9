import type { Command } from 'commander';
import type { CliDeps } from '../cli/deps.js';
import { createOutput } from '../cli/output.js';
import { formatWarning, type ConfigWarning } from '../config/errors.js';
import { loadServeConfig } from '../config/load.js';
import { maskSecrets } from '../config/mask.js';
import type { ServeConfig } from '../config/schema.js';

export interface ConfigValidateResult {
  file: string;
  valid: true;
  warnings: ConfigWarning[];
}

export interface ConfigPrintResult {
  file?: string;
  config: ServeConfig;
  warnings: ConfigWarning[];
}

/** An invalid file throws a ConfigError (exit 2) naming the line; a usable one returns its warnings. */
export async function runConfigValidate(file: string, deps: CliDeps): Promise<ConfigValidateResult> {
  const { warnings } = await loadServeConfig({ file, env: deps.env });
  return { file, valid: true, warnings };
}

/** What `regctl serve --config FILE` would run with (before its flags), secrets masked. */
export async function runConfigPrint(flags: { config?: string }, deps: CliDeps): Promise<ConfigPrintResult> {
  const { config, warnings } = await loadServeConfig({ file: flags.config, env: deps.env });
  return { ...(flags.config ? { file: flags.config } : {}), config: maskSecrets(config), warnings };
}

export function registerConfig(program: Command, deps: CliDeps): void {
  const group = program.command('config').description('check and show the settings of regctl serve (CNCF config.yml + REGISTRY_* variables)');
  const output = (json?: boolean) => createOutput({ json: Boolean(json), stdout: deps.stdout, stderr: deps.stderr });
  const noteWarnings = (warnings: ConfigWarning[], json?: boolean): void => {
    for (const w of warnings) output(json).note(`warning: ${formatWarning(w)}`);
  };

  group
    .command('validate <file>')
    .description('check a config file (with the REGISTRY_* variables set now); exit 0 = usable, 2 = invalid, with the line')
    .option('--json', 'print the result as one JSON document')
    .action(async (file: string, flags: { json?: boolean }) => {
      const result = await runConfigValidate(file, deps);
      noteWarnings(result.warnings, flags.json);
      output(flags.json).result(result, () => `${file}: valid${result.warnings.length ? ` (${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'})` : ''}`);
    });

  group
    .command('print')
    .description('print the effective settings: defaults, then the file, then REGISTRY_* variables (secrets masked)')
    .option('--config <file>', 'a CNCF registry config.yml')
    .option('--json', 'print as one JSON document')
    .action(async (flags: { config?: string; json?: boolean }) => {
      const result = await runConfigPrint(flags, deps);
      noteWarnings(result.warnings, flags.json);
      const { stringify } = await import('yaml');
      output(flags.json).result(result, () => stringify(result.config).trimEnd());
    });
}
