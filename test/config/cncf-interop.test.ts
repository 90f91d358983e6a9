// One config.yml (and the same REGISTRY_* variables) given to the CNCF registry and to
// `regctl serve --config`: both listen where it says and serve the same data from the root it names.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServeProcess } from '../helpers/cli.js';
import { findCncfRegistry, freePort } from '../helpers/cncf-registry.js';
import { buildImage, type Image } from '../helpers/fixtures.js';
import { blobPath, expectResponse, finishUpload, manifestPath, pushManifestOk, RegistryHttp, sleep, startUpload } from '../helpers/http.js';
import { INTEROP_TIMEOUT_MS, interopGate, tempDir, type TempDir } from '../helpers/interop.js';

const ready = interopGate('CNCF config.yml interop suite', ['docker-registry']);

/** `docker-registry serve FILE` until /v2/ answers; returns its stop. */
async function startCncf(file: string, url: string, env: NodeJS.ProcessEnv): Promise<() => Promise<void>> {
  const child = spawn(findCncfRegistry()!, ['serve', file], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
  for (const deadline = Date.now() + 10_000; ; await sleep(50)) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}): ${stderr}`);
    const up = await fetch(`${url}/v2/`).then((r) => r.status === 200, () => false);
    if (up) return stop;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not answer on ${url}: ${stderr}`);
    }
  }
}

/** POST then PUT for each blob: the CNCF registry 2.8 has no monolithic POST. */
async function pushImage(http: RegistryHttp, repo: string, image: Image, tag: string): Promise<void> {
  for (const blob of new Map(image.blobs.map((b) => [b.digest, b])).values()) {
    const { location } = await startUpload(http, repo);
    expectResponse(await finishUpload(http, location, blob.digest, blob.data), { status: 201 });
  }
  await pushManifestOk(http, repo, tag, image.manifest);
}

async function expectServes(http: RegistryHttp, repo: string, tag: string, image: Image): Promise<void> {
  const manifest = await http.get(manifestPath(repo, tag), { headers: { accept: image.manifest.mediaType } });
  expect(manifest.status, `${repo}:${tag}`).toBe(200);
  expect(manifest.headers['docker-content-digest']).toBe(image.manifest.digest);
  for (const blob of image.blobs) expect((await http.get(blobPath(repo, blob.digest))).body.equals(blob.data)).toBe(true);
}

describe.runIf(ready)('the same config.yml for the CNCF registry and regctl serve --config', { timeout: INTEROP_TIMEOUT_MS }, () => {
  let work: TempDir;
  let file: string;
  let env: NodeJS.ProcessEnv;
  let url: string;
  const first = buildImage();
  const second = buildImage();

  beforeAll(async () => {
    work = await tempDir('config-interop');
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    file = join(work.path, 'config.yml');
    await writeFile(
      file,
      [
        'version: 0.1',
        'log:',
        '  level: error',
        '  accesslog:',
        '    disabled: true',
        'storage:',
        '  filesystem:',
        '    rootdirectory: /var/lib/registry-overridden-below',
        '  delete:',
        '    enabled: true',
        '  maintenance:',
        '    uploadpurging:',
        '      enabled: true',
        '      age: 168h',
        '      interval: 24h',
        '      dryrun: false',
        'http:',
        '  addr: 127.0.0.1:1',
        '  secret: shared-secret-for-replicas',
        'health:',
        '  storagedriver:',
        '    enabled: false',
        '',
      ].join('\n'),
    );
    // The address and the root come from the environment, read the CNCF way by both servers.
    env = { REGISTRY_HTTP_ADDR: `127.0.0.1:${port}`, REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: join(work.path, 'root') };
  }, INTEROP_TIMEOUT_MS);

  afterAll(async () => {
    await work?.remove();
  });

  it('what the CNCF registry stored, regctl serves; and the reverse', async () => {
    const stopCncf = await startCncf(file, url, env);
    let http = new RegistryHttp(url);
    try {
      await pushImage(http, 'shared/app', first, 'v1');
    } finally {
      await http.close();
      await stopCncf();
    }

    const regctl = await startServeProcess(['--config', file], env);
    expect(regctl.url).toBe(url);
    http = new RegistryHttp(url);
    try {
      await expectServes(http, 'shared/app', 'v1', first);
      await pushImage(http, 'shared/app', second, 'v2');
    } finally {
      await http.close();
      expect(await regctl.stop()).toBe(0);
    }
    expect(regctl.stderr()).toContain(`${file}:19: http.secret is not supported by regctl; ignored`);

    const again = await startCncf(file, url, env);
    http = new RegistryHttp(url);
    try {
      await expectServes(http, 'shared/app', 'v1', first);
      await expectServes(http, 'shared/app', 'v2', second);
      const tags = (await http.get('/v2/shared/app/tags/list')).body.toString();
      expect(JSON.parse(tags)).toEqual({ name: 'shared/app', tags: ['v1', 'v2'] });
    } finally {
      await http.close();
      await again();
    }
  });
});
