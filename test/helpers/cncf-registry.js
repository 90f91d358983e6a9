// Starts the CNCF registry (Debian's `docker-registry`) on loopback for interop tests and the
// benchmark. Plain JavaScript so both the vitest suites and `node bench/run.js` can import it.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** @returns {string | undefined} the docker-registry binary, if installed */
export function findCncfRegistry() {
  const found = spawnSync('sh', ['-c', 'command -v docker-registry'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path ? path : undefined;
}

/** A port that was free a moment ago (the CNCF registry cannot report a port-0 bind). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

/**
 * @typedef {{ htpasswd: string } | { token: { realm: string, service: string, issuer: string, certificate: string } }} CncfAuth
 *   `htpasswd`: the file's content (bcrypt hashes only). `token`: the issuer's signing certificate
 *   (PEM) becomes the registry's `rootcertbundle`.
 */

/**
 * @param {{ root: string, deleteEnabled?: boolean, readOnly?: boolean, logLevel?: string, auth?: CncfAuth }} options
 * @returns {Promise<{ url: string, host: string, port: number, pid: number, root: string, stop: () => Promise<void> }>}
 */
export async function startCncfRegistry({ root, deleteEnabled = true, readOnly = false, logLevel = 'error', auth }) {
  const bin = findCncfRegistry();
  if (!bin) throw new Error('docker-registry is not installed (apt-get install docker-registry)');
  const port = await freePort();
  const confDir = await mkdtemp(join(tmpdir(), 'cncf-conf-'));
  const config = [
    'version: 0.1',
    'log:',
    `  level: ${logLevel}`,
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${root}`,
    '  delete:',
    `    enabled: ${deleteEnabled}`,
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    '    readonly:',
    `      enabled: ${readOnly}`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
    ...(await authConfig(auth, confDir)),
    '',
  ].join('\n');
  const confFile = join(confDir, 'config.yml');
  await writeFile(confFile, config);
  const child = spawn(bin, ['serve', confFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}): ${stderr}`);
    try {
      const res = await fetch(`${url}/v2/`);
      await res.arrayBuffer();
      // Under auth the base endpoint answers 401 once the registry is up.
      if (res.status === 200 || (auth && res.status === 401)) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`docker-registry did not answer on ${url} within 10 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    host: `127.0.0.1:${port}`,
    port,
    pid: /** @type {number} */ (child.pid),
    root,
    async stop() {
      // A process ended by a signal keeps exitCode null: without signalCode a second stop() would wait forever.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      await rm(confDir, { recursive: true, force: true });
    },
  };
}

/**
 * The `auth:` section, with the files it names written into `dir`.
 * @param {CncfAuth | undefined} auth
 * @param {string} dir
 * @returns {Promise<string[]>}
 */
async function authConfig(auth, dir) {
  if (!auth) return [];
  if ('htpasswd' in auth) {
    const path = join(dir, 'htpasswd');
    await writeFile(path, auth.htpasswd);
    return ['auth:', '  htpasswd:', '    realm: regctl-test', `    path: ${path}`];
  }
  const bundle = join(dir, 'token-ca.pem');
  await writeFile(bundle, auth.token.certificate);
  return [
    'auth:',
    '  token:',
    `    realm: ${JSON.stringify(auth.token.realm)}`,
    `    service: ${JSON.stringify(auth.token.service)}`,
    `    issuer: ${JSON.stringify(auth.token.issuer)}`,
    `    rootcertbundle: ${bundle}`,
  ];
}
