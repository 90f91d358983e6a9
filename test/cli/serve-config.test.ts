import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startServeProcess, type ServeProcess } from '../helpers/cli.js';
import { buildImage } from '../helpers/fixtures.js';
import { certify } from '../helpers/tls.js';
import { expectError, manifestPath, pushImage, RegistryHttp, sleep, startUpload, blobPath } from '../helpers/http.js';
import { writeConfigFile } from './config-file.js';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'regctl-serve-config-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

let n = 0;
function configFile(lines: string[]): Promise<string> {
  return writeConfigFile(join(scratch, `config-${++n}.yml`), lines);
}

/** Runs `serve` with the arguments, hands a client to `body`, and always stops the process. */
async function withServe(args: string[], body: (srv: ServeProcess, http: RegistryHttp) => Promise<void>, env?: NodeJS.ProcessEnv): Promise<ServeProcess> {
  const srv = await startServeProcess(args, env);
  const http = new RegistryHttp(srv.url);
  try {
    await body(srv, http);
  } finally {
    await http.close();
    expect(await srv.stop()).toBe(0);
  }
  return srv;
}

describe('regctl serve --config', () => {
  it('serves what a CNCF config.yml describes: address, root, deletes, with warnings naming lines', async () => {
    const root = join(scratch, 'root-a');
    const file = await configFile([
      'version: 0.1',
      'http:',
      '  addr: 127.0.0.1:0',
      '  secret: not-used-by-regctl',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${root}`,
      '  delete:',
      '    enabled: true',
    ]);
    const image = buildImage();
    const srv = await withServe(['--config', file], async (_srv, http) => {
      await pushImage(http, 'team/app', image, 'v1');
      const pulled = await http.get(manifestPath('team/app', 'v1'), { headers: { accept: image.manifest.mediaType } });
      expect(pulled.status).toBe(200);
      expect(pulled.body.equals(image.manifest.body)).toBe(true);
      const layer = image.blobs[1]!;
      expect((await http.get(blobPath('team/app', layer.digest))).body.equals(layer.data)).toBe(true);
      expect((await http.send('DELETE', manifestPath('team/app', image.manifest.digest))).status).toBe(202);
    });
    expect(srv.stderr()).toContain(`storing in ${root} (filesystem)`);
    expect(srv.stderr()).toContain(`${file}:4: http.secret is not supported by regctl; ignored`);
    await stat(join(root, 'docker/registry/v2/repositories/team/app/_layers'));
  });

  it('reads the file the CNCF way (deletes off without storage.delete), inmemory storage', async () => {
    const file = await configFile(['version: 0.1', 'http:', '  addr: 127.0.0.1:0', 'storage: inmemory']);
    const srv = await withServe(['--config', file], async (_srv, http) => {
      const image = buildImage();
      await pushImage(http, 'mem/app', image, 'latest');
      expect((await http.get(manifestPath('mem/app', 'latest'), { headers: { accept: image.manifest.mediaType } })).status).toBe(200);
      const refused = expectError(await http.send('DELETE', manifestPath('mem/app', image.manifest.digest)), 'UNSUPPORTED');
      // Deletes were turned off by the file, not a flag: the message names both ways to allow them.
      expect(refused.message).toBe('deletes are disabled on this registry (storage.delete.enabled: true in the config file, or serve without --no-delete)');
    });
    expect(srv.stderr()).toContain('storing in memory (gone on exit), deletes off\n');
  });

  it('flags win over REGISTRY_* variables, which win over the file', async () => {
    const fileRoot = join(scratch, 'root-file');
    const envRoot = join(scratch, 'root-env');
    const flagRoot = join(scratch, 'root-flag');
    const file = await configFile(['version: 0.1', 'http:', '  addr: 127.0.0.1:1', 'storage:', '  filesystem:', `    rootdirectory: ${fileRoot}`, '  maintenance:', '    readonly:', '      enabled: true']);
    const env = { REGISTRY_HTTP_ADDR: '127.0.0.1:0', REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: envRoot };
    const fromEnv = await withServe(['--config', file], async (_srv, http) => {
      expectError(await http.send('POST', '/v2/x/blobs/uploads/'), 'UNSUPPORTED');
    }, env);
    expect(fromEnv.stderr()).toContain(`storing in ${envRoot} (filesystem), read-only`);
    const fromFlags = await withServe(['--config', file, '--root', flagRoot], async () => {}, env);
    expect(fromFlags.stderr()).toContain(`storing in ${flagRoot} (filesystem), read-only`);
  });

  it('purges uploads older than uploadpurging.age, every interval', async () => {
    const file = await configFile([
      'version: 0.1',
      'http:',
      '  addr: 127.0.0.1:0',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(scratch, 'root-purge')}`,
      '  maintenance:',
      '    uploadpurging:',
      '      enabled: true',
      '      age: 1s',
      '      interval: 200ms',
    ]);
    const srv = await withServe(['--config', file], async (_srv, http) => {
      const { location } = await startUpload(http, 'purge/me');
      expect((await http.get(location)).status).toBe(204);
      let status = 204;
      for (let i = 0; i < 50 && status === 204; i++) {
        await sleep(100);
        status = (await http.get(location)).status;
      }
      expect(status).toBe(404);
    });
    expect(srv.stderr()).toMatch(/upload purging uploadsRemoved=1 bytesFreed=0/);
  });

  it('http.tls: serves HTTPS with the certificate and key the file names, clients vetted by every CA in clientcas', async () => {
    const serverCa = await certify({ commonName: 'server CA', ca: true });
    const server = await certify({ commonName: 'registry', hosts: ['127.0.0.1'], issuer: serverCa });
    const [caOne, caTwo] = await Promise.all([certify({ commonName: 'team one', ca: true }), certify({ commonName: 'team two', ca: true })]);
    const client = await certify({ commonName: 'ci-bot', issuer: caTwo });
    const files = Object.fromEntries(
      await Promise.all(
        Object.entries({ cert: server.cert, key: server.key, one: caOne.cert, two: caTwo.cert }).map(async ([name, pem]) => {
          const path = join(scratch, `tls-${name}.pem`);
          await writeFile(path, pem);
          return [name, path] as const;
        }),
      ),
    );
    const file = await configFile([
      'version: 0.1',
      'http:',
      '  addr: 127.0.0.1:0',
      '  tls:',
      `    certificate: ${files.cert}`,
      `    key: ${files.key}`,
      '    clientcas:',
      `      - ${files.one}`,
      `      - ${files.two}`,
      'storage: inmemory',
    ]);
    const srv = await startServeProcess(['--config', file]);
    const get = (extra: { cert?: string; key?: string }): Promise<string> =>
      new Promise((resolve) => {
        const req = httpsRequest(`${srv.url}/v2/`, { ca: serverCa.cert, ...extra }, (res) => {
          res.resume();
          resolve(String(res.statusCode));
        });
        req.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
        req.end();
      });
    try {
      expect(srv.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(await get({ cert: client.cert, key: client.key })).toBe('200');
      expect(await get({})).not.toBe('200');
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });

  it('an invalid file stops start-up: exit 2, one line with FILE:LINE and the fix', async () => {
    const file = await configFile(['version: 0.1', 'storage:', '  filesystem:', '    rootdirectory: /tmp/x', '  delete:', '    enabled: sometimes']);
    const result = await runCli(['serve', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`regctl: ${file}:6: storage.delete.enabled is "sometimes"; write true or false\n`);
  });

  it("refuses what config validate refuses, before starting: Debian's htpasswd directory, a bad debug address", async () => {
    const shipped = await configFile(['version: 0.1', 'storage:', '  inmemory:', 'auth:', '  htpasswd:', '    realm: basic-realm', `    path: ${scratch}`]);
    const dir = await runCli(['serve', '--config', shipped, '--addr', '127.0.0.1:0', '--json']);
    const line = `${shipped}:7: htpasswd file ${scratch} is a directory, not a file; name the file itself, e.g. ${join(scratch, 'htpasswd')}`;
    expect(dir.code).toBe(2);
    expect(dir.stderr).toBe(`regctl: ${line}\n`);
    expect(JSON.parse(dir.stdout)).toEqual({ error: { message: line, exitCode: 2 } });

    const debug = await configFile(['version: 0.1', 'http:', '  addr: 127.0.0.1:0', '  debug:', '    addr: 15104', 'storage:', '  inmemory:']);
    const bad = await runCli(['serve', '--config', debug]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(`regctl: ${debug}:5: http.debug.addr "15104" is not an address; expected HOST:PORT, :PORT or [IPv6]:PORT (e.g. 127.0.0.1:5000)\n`);
  });
});
