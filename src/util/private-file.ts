import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes secrets (keys, password hashes, logins): readable only by the owner from the first byte,
 * and replaced whole by a rename, so a reader never sees half a file. A failed write or rename
 * (e.g. `path` is a directory) leaves no temporary file behind.
 */
export async function writePrivateFile(path: string, data: string): Promise<void> {
  await makeDirectories(dirname(path), 0o700);
  const temp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temp, data, { mode: 0o600 });
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/**
 * `mkdir -p` one level at a time: Node 20's recursive mkdir never returns for some paths (e.g.
 * /proc/nope), where a plain mkdir fails at once.
 */
export async function makeDirectories(dir: string, mode?: number): Promise<void> {
  const missing: string[] = [];
  for (let d = dir; !(await stat(d).catch(() => undefined)); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) {
    await mkdir(d, mode === undefined ? {} : { mode }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
}
