import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface DockerTrust {
  /** host:port as the engine names the registry. */
  registry: string;
  /** `<certs.d>/<host:port>/ca.crt` */
  path: string;
  written: boolean;
}

/** Docker reads `certs.d/<host:port>/ca.crt` on every connection, so no engine restart is needed. */
export async function trustForDocker(ca: { path: string; pem: string }, registries: string[], certsDir: string): Promise<{ trusts: DockerTrust[]; commands: string[] }> {
  const trusts: DockerTrust[] = [];
  const commands: string[] = [];
  for (const registry of registries) {
    const dir = join(certsDir, registry);
    const path = join(dir, 'ca.crt');
    try {
      await mkdir(dir, { recursive: true, mode: 0o755 });
      await writeFile(path, ca.pem, { mode: 0o644 });
      trusts.push({ registry, path, written: true });
    } catch (err) {
      if (!PERMISSION_CODES.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
      trusts.push({ registry, path, written: false });
      commands.push(`sudo mkdir -p ${quote(dir)}`, `sudo install -m 0644 ${quote(ca.path)} ${quote(path)}`);
    }
  }
  return { trusts, commands };
}

const PERMISSION_CODES = new Set(['EACCES', 'EPERM', 'EROFS']);

/**
 * The system store changes what every program on the machine trusts, so regctl only says how; the
 * person decides.
 */
export function systemTrustCommands(caPath: string, platform: NodeJS.Platform = process.platform): string[] {
  if (platform === 'darwin') return [`sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain ${quote(caPath)}`];
  return [
    '# Debian, Ubuntu, Alpine:',
    `sudo install -m 0644 ${quote(caPath)} /usr/local/share/ca-certificates/regctl-ca.crt && sudo update-ca-certificates`,
    '# Fedora, RHEL:',
    `sudo install -m 0644 ${quote(caPath)} /etc/pki/ca-trust/source/anchors/regctl-ca.crt && sudo update-ca-trust`,
  ];
}

/** Registry names as Docker writes them in certs.d: host:port or [v6]:port. */
export function validRegistryAddress(value: string): boolean {
  return /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/.test(value);
}

function quote(path: string): string {
  return /^[\w./:@%+=,[\]-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}
