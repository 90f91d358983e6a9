import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/client/client.js';
import { CEPH_ENDPOINT, cephGate, createTestBucket, startS3Replica, type S3Replica, type TestBucket } from '../helpers/ceph.js';
import { blobOf, uniqueRepo } from '../helpers/fixtures.js';
import { RegistryHttp } from '../helpers/http.js';

describe.runIf(cephGate('S3 redirect (Ceph radosgw)'))('blob GETs redirected to presigned S3 URLs', { timeout: 60_000 }, () => {
  let bucket: TestBucket;
  let replica: S3Replica;
  let http: RegistryHttp;
  let client: RegistryClient;
  const repo = uniqueRepo('redirect');
  const blob = blobOf(Buffer.from('0123456789'.repeat(1000)));

  beforeAll(async () => {
    bucket = await createTestBucket('redirect');
    // Link cache off: the caching wrapper must pass urlFor through before the default can be used here.
    replica = await startS3Replica(bucket, { s3: { redirect: true } });
    http = new RegistryHttp(replica.url);
    client = new RegistryClient({ registry: replica.host, scheme: 'http' });
    await client.pushBlob(repo, blob.digest, blob.size, () => Readable.from([blob.data]));
  });

  afterAll(async () => {
    await client?.close();
    await http?.close();
    await replica?.close();
    await bucket?.remove();
  });

  it('answers GET with 307 to S3, which serves the bytes and a Range of them', async () => {
    const res = await http.get(`/v2/${repo}/blobs/${blob.digest}`);
    expect(res.status).toBe(307);
    expect(res.headers['docker-content-digest']).toBe(blob.digest);
    const location = res.headers.location!;
    expect(location.startsWith(`${CEPH_ENDPOINT}/${bucket.name}/docker/registry/v2/blobs/sha256/`)).toBe(true);
    expect(Buffer.from(await (await fetch(location)).arrayBuffer()).equals(blob.data)).toBe(true);
    const part = await fetch(location, { headers: { Range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(await part.text()).toBe('0123456789');
  });

  it('still answers HEAD itself, and refuses a blob the repository does not hold before redirecting', async () => {
    const head = await http.head(`/v2/${repo}/blobs/${blob.digest}`);
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(blob.size));
    expect((await http.get(`/v2/${uniqueRepo('other')}/blobs/${blob.digest}`)).status).toBe(404);
  });

  it('regctl’s own client follows the redirect and verifies the digest', async () => {
    const { stream } = await client.getBlob(repo, blob.digest);
    expect((await buffer(stream)).equals(blob.data)).toBe(true);
  });
});
