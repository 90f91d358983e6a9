import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes secrets (keys, password hashes, logins): readable only by the owner from the first byte,
 * and replaced whole by a rename, so a reader never sees half a file. A failed write or rename
 * (e.g. `path` is a directory) leaves no temporary file behind.
 */
export async function writePrivateFile(path: string, data: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temp, data, { mode: 0o600 });
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
