import { UsageError } from '../cli/errors.js';

/**
 * A configuration that cannot be used: `WHERE: what is wrong; how to fix`, where WHERE is
 * `FILE:LINE` for a value from the file or the environment variable that set it. Exit code 2.
 */
export class ConfigError extends UsageError {
  constructor(
    readonly where: string,
    readonly problem: string,
  ) {
    super(`${where}: ${problem}`);
    this.name = 'ConfigError';
  }
}

/** A key regctl does not act on (or acts on differently): the server still starts. */
export interface ConfigWarning {
  /** Dotted key path as written in the file, e.g. `http.secret`. */
  key: string;
  where: string;
  message: string;
}

export function formatWarning(w: ConfigWarning): string {
  return `${w.where}: ${w.message}`;
}
