import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$XDG_DATA_HOME/regctl/registry`, else `~/.local/share/regctl/registry`. */
export function defaultStorageRoot(env: NodeJS.ProcessEnv = process.env): string {
  const dataHome = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share');
  return join(dataHome, 'regctl', 'registry');
}

/** Parses `host:port`, `:port` (all interfaces) or `[v6]:port`. */
export function parseListenAddress(addr: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`invalid address "${addr}"; expected HOST:PORT, :PORT or [IPv6]:PORT (e.g. 127.0.0.1:5000)`);
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}
