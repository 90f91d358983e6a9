// `storage.s3` of a CNCF config.yml, through `regctl serve --config` as a process, on the local Ceph.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cephGate, createTestBucket, type TestBucket } from '../helpers/ceph.js';
import { startServeProcess } from '../helpers/cli.js';
import { buildImage, sha256 } from '../helpers/fixtures.js';
import { blobPath, finishUpload, manifestPath, patchChunk, pushImage, RegistryHttp, startUpload } from '../helpers/http.js';
import { INTEROP_TIMEOUT_MS, tempDir, type TempDir } from '../helpers/interop.js';
import { writeConfigFile } from './config-file.js';

const ready = cephGate('serve --config with storage.s3');

describe.runIf(ready)('regctl serve --config with storage.s3', { timeout: INTEROP_TIMEOUT_MS }, () => {
  let bucket: TestBucket;
  let work: TempDir;

  beforeAll(async () => {
    bucket = await createTestBucket('regctl-config');
    work = await tempDir('serve-s3');
  }, INTEROP_TIMEOUT_MS);

  afterAll(async () => {
    await bucket?.remove();
    await work?.remove();
  }, INTEROP_TIMEOUT_MS);

  /** A config.yml for the test bucket under `prefix`, the secret key left to the environment. */
  async function configFile(prefix: string): Promise<string> {
    const { config } = bucket;
    return writeConfigFile(join(work.path, `${prefix}.yml`), [
      'version: 0.1',
      'http:',
      '  addr: 127.0.0.1:0',
      'storage:',
      '  s3:',
      `    bucket: ${config.bucket}`,
      `    region: ${config.region}`,
      `    regionendpoint: ${config.regionEndpoint}`,
      '    forcepathstyle: true',
      `    accesskey: ${config.accessKey}`,
      `    rootdirectory: /${prefix}`,
      `    chunksize: ${config.chunkSize}`,
      '  redirect:',
      '    disable: true',
      '  delete:',
      '    enabled: true',
    ]);
  }

  it('stores in the bucket the file names, the secret key from REGISTRY_STORAGE_S3_SECRETKEY', async () => {
    const { config } = bucket;
    const file = await configFile('from-config');
    const srv = await startServeProcess(['--config', file], { REGISTRY_STORAGE_S3_SECRETKEY: config.secretKey! });
    const http = new RegistryHttp(srv.url);
    const image = buildImage();
    try {
      await pushImage(http, 's3/app', image, 'v1');
      const res = await http.get(manifestPath('s3/app', 'v1'), { headers: { accept: image.manifest.mediaType } });
      expect(res.status).toBe(200);
      expect((await http.get(blobPath('s3/app', image.blobs[1]!.digest))).body.equals(image.blobs[1]!.data)).toBe(true);
    } finally {
      await http.close();
      expect(await srv.stop()).toBe(0);
    }
    expect(srv.stderr()).toContain(`storing in s3://${config.bucket}/from-config (s3)`);
    // The objects are under the configured prefix, where another replica (or the CNCF registry) looks.
    const driver = await bucket.driver({ rootDirectory: 'from-config' });
    expect(await driver.list('/docker/registry/v2/repositories/s3')).toEqual(['app']);
  });

  it('two serve processes on one bucket: push through one, pull through the other, an upload started on one finished on the other', async () => {
    const file = await configFile('replicas');
    const env = { REGISTRY_STORAGE_S3_SECRETKEY: bucket.config.secretKey! };
    const [a, b] = await Promise.all([startServeProcess(['--config', file], env), startServeProcess(['--config', file], env)]);
    const httpA = new RegistryHttp(a.url);
    const httpB = new RegistryHttp(b.url);
    try {
      const image = buildImage({ layers: 2 });
      await pushImage(httpA, 'team/app', image, 'v1');
      const pulled = await httpB.get(manifestPath('team/app', 'v1'), { headers: { accept: image.manifest.mediaType } });
      expect(pulled.status).toBe(200);
      expect(pulled.headers['docker-content-digest']).toBe(image.manifest.digest);

      const layer = randomBytes(6 * 1024 * 1024 + 17);
      const { location } = await startUpload(httpA, 'team/app');
      expect((await patchChunk(httpA, location, layer.subarray(0, 5 * 1024 * 1024))).status).toBe(202);
      const finished = await finishUpload(httpB, location, sha256(layer), layer.subarray(5 * 1024 * 1024));
      expect(finished.status).toBe(201);
      expect((await httpA.get(blobPath('team/app', sha256(layer)))).body.equals(layer)).toBe(true);
    } finally {
      await Promise.all([httpA.close(), httpB.close()]);
      expect(await Promise.all([a.stop(), b.stop()])).toEqual([0, 0]);
    }
  });
});
