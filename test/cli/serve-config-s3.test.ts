// `storage.s3` of a CNCF config.yml, through `regctl serve --config` as a process, on the local Ceph.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cephGate, createTestBucket, type TestBucket } from '../helpers/ceph.js';
import { startServeProcess } from '../helpers/cli.js';
import { buildImage } from '../helpers/fixtures.js';
import { blobPath, manifestPath, pushImage, RegistryHttp } from '../helpers/http.js';
import { INTEROP_TIMEOUT_MS, tempDir, type TempDir } from '../helpers/interop.js';

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

  it('stores in the bucket the file names, the secret key from REGISTRY_STORAGE_S3_SECRETKEY', async () => {
    const { config } = bucket;
    const file = join(work.path, 'config.yml');
    await writeFile(
      file,
      [
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
        '    rootdirectory: /from-config',
        `    chunksize: ${config.chunkSize}`,
        '  redirect:',
        '    disable: true',
        '  delete:',
        '    enabled: true',
        '',
      ].join('\n'),
    );
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
});
