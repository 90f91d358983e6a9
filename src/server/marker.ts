import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A running `regctl serve` leaves `<root>/.regctl-serve.json` (outside the CNCF tree), so commands
 * that work on a root — `regctl gc --root` — find the server and go through it instead of racing it.
 */
export interface ServeMarker {
  pid: number;
  url: string;
  startedAt: string;
  /** The CA that signed the server's certificate, when it serves HTTPS with `regctl tls init`'s. */
  caFile?: string;
}

const FILE = '.regctl-serve.json';

export async function writeServeMarker(root: string, marker: ServeMarker): Promise<void> {
  await writeFile(join(root, FILE), `${JSON.stringify(marker)}\n`);
}

export async function removeServeMarker(root: string, pid: number): Promise<void> {
  // Only our own: another server may have started on the same root since.
  if ((await readServeMarker(root, () => true))?.pid === pid) await rm(join(root, FILE), { force: true });
}

/** The marker of a live server on `root`, or undefined (none, or its process is gone). */
export async function readServeMarker(root: string, isAlive: (pid: number) => boolean = processAlive): Promise<ServeMarker | undefined> {
  let marker: ServeMarker;
  try {
    marker = JSON.parse(await readFile(join(root, FILE), 'utf8')) as ServeMarker;
  } catch {
    return undefined;
  }
  return typeof marker.pid === 'number' && typeof marker.url === 'string' && isAlive(marker.pid) ? marker : undefined;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
