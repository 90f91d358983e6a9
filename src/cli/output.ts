import type { Writable } from 'node:stream';

/**
 * Where a command's words go: the result on stdout (one JSON document with --json), everything for
 * people (progress, notices) on stderr, so `--json | jq` always parses.
 */
export interface Output {
  readonly json: boolean;
  /** The command's result: JSON, or the text for people. */
  result(value: unknown, text: () => string): void;
  /** A line for people, on stderr; silent with --json unless `always`. */
  note(line: string, always?: boolean): void;
  readonly stdout: Writable;
  readonly stderr: Writable;
}

export function createOutput(options: { json: boolean; stdout?: Writable; stderr?: Writable }): Output {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  return {
    json: options.json,
    stdout,
    stderr,
    result(value, text) {
      stdout.write(options.json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
    },
    note(line, always = false) {
      if (!options.json || always) stderr.write(`${line}\n`);
    },
  };
}
