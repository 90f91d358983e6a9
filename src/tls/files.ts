import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { configDir } from '../config/user-config.js';
import { writePrivateFile } from '../util/private-file.js';
import type { KeyPairPem } from './issue.js';

export interface TlsPaths {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
}

/** `<config dir>/tls/`: where `tls init` writes and `serve --tls` reads. */
export function tlsPaths(env: NodeJS.ProcessEnv): TlsPaths {
  const dir = join(configDir(env), 'tls');
  return { dir, caCert: join(dir, 'ca.crt'), caKey: join(dir, 'ca.key'), serverCert: join(dir, 'server.crt'), serverKey: join(dir, 'server.key') };
}

/** The existing CA, or undefined when there is none yet. */
export async function readCa(paths: TlsPaths): Promise<KeyPairPem | undefined> {
  try {
    return { cert: await readFile(paths.caCert, 'utf8'), key: await readFile(paths.caKey, 'utf8') };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Keys at mode 0600 in a 0700 directory; certificates are public. */
export async function writeTlsFiles(paths: TlsPaths, files: { ca: KeyPairPem; server: KeyPairPem }): Promise<void> {
  await writePrivateFile(paths.caKey, files.ca.key);
  await writePrivateFile(paths.serverKey, files.server.key);
  await writeFile(paths.caCert, files.ca.cert, { mode: 0o644 });
  await writeFile(paths.serverCert, files.server.cert, { mode: 0o644 });
}
