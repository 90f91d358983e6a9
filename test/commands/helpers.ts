// Drives commands in-process with deps the test owns: captured stdout/stderr, a stdin with chosen
// contents, a throwaway Docker config, and an environment free of the host's REGCTL_* settings.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll } from 'vitest';
import type { CliDeps } from '../../src/cli/deps.js';
import { createProgram } from '../../src/cli/program.js';
import { DockerConfigStore } from '../../src/client/credentials.js';

export interface TestDeps {
  deps: CliDeps;
  stdout(): string;
  stderr(): string;
}

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** `tty`: stdin is a terminal (prompts allowed); `stderrTty`: stderr is one (spinners drawn). */
export async function testDeps(options: { stdin?: string; tty?: boolean; stderrTty?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<TestDeps> {
  const dir = await mkdtemp(join(tmpdir(), 'regctl-cmd-'));
  dirs.push(dir);
  const out = collector();
  const err = collector();
  if (options.stderrTty) Object.assign(err.stream, terminalMethods());
  const stdin = Object.assign(new PassThrough(), { isTTY: options.tty ?? false });
  if (options.stdin !== undefined) stdin.end(options.stdin);
  else if (!options.tty) stdin.end();
  return {
    deps: {
      // No HOME: the user config and Docker config of whoever runs the tests stay out of it.
      env: { REGCTL_CONFIG_DIR: join(dir, 'regctl'), ...options.env },
      stdin,
      stdout: out.stream,
      stderr: err.stream,
      dockerConfig: new DockerConfigStore(join(dir, 'docker', 'config.json')),
      certsDir: join(dir, 'certs.d'),
    },
    stdout: out.text,
    stderr: err.text,
  };
}

function collector(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString('utf8')));
  return { stream, text: () => text };
}

/** What ora calls on a terminal stream, enough to draw into a string. */
function terminalMethods(): Record<string, unknown> {
  const done = (...args: unknown[]): boolean => {
    const callback = args.find((a) => typeof a === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  };
  return { isTTY: true, columns: 80, rows: 24, cursorTo: done, moveCursor: done, clearLine: done };
}

/** Runs `regctl ARGS` through the real program (flag parsing and printing included); resolves with what it threw. */
export async function runProgram(t: TestDeps, args: string[]): Promise<unknown> {
  try {
    await (await createProgram(t.deps)).parseAsync(['node', 'regctl', ...args]);
    return undefined;
  } catch (err) {
    return err;
  }
}
