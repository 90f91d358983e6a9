import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/client/client.js';
import { cephGate, createTestBucket, expectImage, startCncfOnBucket, startS3Replica, type S3Replica, type TestBucket } from '../helpers/ceph.js';
import { buildImage, uniqueRepo, type Image } from '../helpers/fixtures.js';
import { INTEROP_TIMEOUT_MS, interopGate } from '../helpers/interop.js';

/** Through regctl's client (POST then PUT): the CNCF registry 2.8 has no monolithic POST. */
async function pushThrough(client: RegistryClient, repo: string, image: Image): Promise<void> {
  for (const blob of image.blobs) await client.pushBlob(repo, blob.digest, blob.size, () => Readable.from([blob.data]));
  await client.putManifest(repo, 'v1', image.manifest.body, image.manifest.mediaType);
}

const SUITE = 'regctl and the CNCF registry on one S3 bucket';

describe.runIf(cephGate(SUITE) && interopGate(SUITE, ['docker-registry']))(SUITE, { timeout: INTEROP_TIMEOUT_MS }, () => {
  let bucket: TestBucket;
  let regctl: S3Replica;
  let cncf: Awaited<ReturnType<typeof startCncfOnBucket>>;
  let ours: RegistryClient;
  let theirs: RegistryClient;

  beforeAll(async () => {
    bucket = await createTestBucket('cncf');
    regctl = await startS3Replica(bucket, { s3: { rootDirectory: '/shared/root' } });
    cncf = await startCncfOnBucket(bucket, '/shared/root');
    ours = new RegistryClient({ registry: regctl.host, scheme: 'http' });
    theirs = new RegistryClient({ registry: cncf.host, scheme: 'http' });
  });

  afterAll(async () => {
    await Promise.all([ours?.close(), theirs?.close()]);
    await cncf?.stop();
    await regctl?.close();
    await bucket?.remove();
  });

  it('the CNCF registry serves an image regctl pushed into S3', async () => {
    const repo = uniqueRepo('cncf/from-regctl');
    const image = buildImage({ layers: 2, layerSize: 20_000 });
    await pushThrough(ours, repo, image);
    await expectImage(theirs, repo, 'v1', image);
    expect(await theirs.tags(repo)).toEqual(['v1']);
  });

  it('regctl serves an image the CNCF registry pushed into S3, and both catalogs agree', async () => {
    const repo = uniqueRepo('cncf/from-cncf');
    const image = buildImage({ layers: 2, layerSize: 20_000 });
    await pushThrough(theirs, repo, image);
    await expectImage(ours, repo, 'v1', image);
    expect(await ours.catalog()).toEqual(await theirs.catalog());
  });
});
