import { stringify } from 'yaml';

/** What `regctl init` asks for. */
export interface InitSettings {
  addr: string;
  rootDirectory: string;
  tls?: { certificate: string; key: string };
  htpasswd?: string;
}

/**
 * A config.yml both regctl and the CNCF registry accept: deletes on (regctl's default; CNCF's is
 * off), and the htpasswd realm the CNCF registry requires.
 */
export function renderConfigFile(settings: InitSettings, now: Date = new Date()): string {
  const doc = {
    version: '0.1',
    log: { level: 'info' },
    http: { addr: settings.addr, ...(settings.tls ? { tls: settings.tls } : {}) },
    storage: { filesystem: { rootdirectory: settings.rootDirectory }, delete: { enabled: true } },
    ...(settings.htpasswd ? { auth: { htpasswd: { realm: 'regctl', path: settings.htpasswd } } } : {}),
  };
  return `# Written by regctl init on ${now.toISOString().slice(0, 10)}; a CNCF registry config.yml (version 0.1).\n# Check it: regctl config validate FILE; serve it: regctl serve --config FILE\n${stringify(doc)}`;
}
