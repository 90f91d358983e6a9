import { writeFile } from 'node:fs/promises';

/** Writes a config.yml of these lines (newline-terminated) to `file`, and returns `file`. */
export async function writeConfigFile(file: string, lines: string[]): Promise<string> {
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}
