import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { CliDeps } from '../cli/deps.js';
import { ExitCode, ReportedError } from '../cli/errors.js';
import { createOutput } from '../cli/output.js';
import { checkFiles } from '../config/check-files.js';
import { ConfigError, formatWarning, type ConfigWarning } from '../config/errors.js';
import { loadServeConfig } from '../config/load.js';
import { maskSecrets } from '../config/mask.js';
import type { ServeConfig } from '../config/schema.js';
import { configDir } from '../config/user-config.js';

export interface ConfigValidateResult {
  file: string;
  valid: boolean;
  /** What serve would refuse to start with, each pointing at its line (or REGISTRY_* variable). */
  errors: { where: string; message: string }[];
  warnings: ConfigWarning[];
}

export interface ConfigPrintResult {
  file?: string;
  config: ServeConfig;
  warnings: ConfigWarning[];
}

/**
 * Reads the file as serve would and checks the files it names (no network: S3 is not asked). A
 * missing FILE is a CliError (exit 3); everything wrong inside it is in `errors`.
 */
export async function runConfigValidate(file: string, deps: CliDeps): Promise<ConfigValidateResult> {
  const invalid = (errors: ConfigError[], warnings: ConfigWarning[]): ConfigValidateResult => ({
    file,
    valid: errors.length === 0,
    errors: errors.map((e) => ({ where: e.where, message: e.problem })),
    warnings,
  });
  try {
    const { config, warnings, sources } = await loadServeConfig({ file, env: deps.env });
    return invalid(await checkFiles(config, (setting) => sources[setting] ?? '(default)'), warnings);
  } catch (err) {
    if (err instanceof ConfigError) return invalid([err], []);
    throw err;
  }
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
    .description(
      'check a config file as serve reads it (with the REGISTRY_* variables set now): addresses, values, the files it names; ' +
        'exit 0 = usable, 2 = invalid (with the line and the fix), 3 = no such FILE',
    )
    .option('--json', 'print the result as one JSON document ({"valid": …, "errors": […], "warnings": […]})')
    .action(async (file: string, flags: { json?: boolean }) => {
      const result = await runConfigValidate(file, deps);
      const out = output(flags.json);
      noteWarnings(result.warnings, flags.json);
      const [first, ...more] = result.errors;
      if (flags.json || !first) {
        out.result(result, () => `${file}: valid${result.warnings.length ? ` (${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'})` : ''}`);
      }
      if (!first) return;
      for (const e of more) out.note(`error: ${e.where}: ${e.message}`);
      const message = `${first.where}: ${first.message}`;
      throw flags.json ? new ReportedError(message, ExitCode.usage) : new ConfigError(first.where, first.message);
    });

  group
    .command('print')
    .description('print the effective settings: defaults, then the file, then REGISTRY_* variables (secrets masked)')
    .option('--config <file>', 'a CNCF registry config.yml (default: none, as for serve)')
    .option('--json', 'print as one JSON document')
    .action(async (flags: { config?: string; json?: boolean }) => {
      const result = await runConfigPrint(flags, deps);
      noteWarnings(result.warnings, flags.json);
      const out = output(flags.json);
      if (!flags.config) {
        // serve reads no file unless told; a file `init` wrote is easy to believe in use.
        const written = join(configDir(deps.env), 'registry.yml');
        if (await stat(written).catch(() => undefined)) out.note(`using no config file; init wrote ${written}: regctl serve --config ${written}`, true);
      }
      const { stringify } = await import('yaml');
      const source = flags.config ? `# from ${flags.config} and the REGISTRY_* variables` : '# no config file: defaults and the REGISTRY_* variables';
      out.result(result, () => `${source}\n${stringify(result.config).trimEnd()}`);
    });
}
