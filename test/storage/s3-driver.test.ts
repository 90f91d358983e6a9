import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { listRepositoryDirs } from '../../src/registry/catalog.js';
import { InvalidPathError, PathNotFoundError, StorageBackendError, type FileWriter, type StorageDriver } from '../../src/storage/driver.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import { createS3Client } from '../../src/storage/s3-bucket.js';
import { createS3Driver } from '../../src/storage/s3.js';
import { cephGate, createTestBucket, s3Config, type TestBucket } from '../helpers/ceph.js';

const MiB = 1024 * 1024;

async function writeAll(w: FileWriter, data: Buffer): Promise<void> {
  for (let at = 0; at < data.length; at += MiB) {
    if (!w.stream.write(data.subarray(at, at + MiB))) await once(w.stream, 'drain');
  }
  w.stream.end();
  await finished(w.stream);
}

async function append(driver: StorageDriver, path: string, data: Buffer): Promise<number> {
  const w = await driver.writer(path, { append: true });
  await writeAll(w, data);
  await w.commit();
  return w.size();
}

async function sha(driver: StorageDriver, path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await driver.reader(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const digestOf = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest('hex');

describe.runIf(cephGate('S3 driver (Ceph radosgw)'))('s3 driver on Ceph radosgw', { timeout: 60_000 }, () => {
  let bucket: TestBucket;
  const client = () => createS3Client(bucket.config);

  beforeAll(async () => {
    bucket = await createTestBucket('driver');
  });

  afterAll(async () => {
    await bucket?.remove();
  });

  const pendingUploads = async () =>
    (await client().send(new ListMultipartUploadsCommand({ Bucket: bucket.name }))).Uploads ?? [];

  it('names objects as the CNCF registry does: <rootdirectory>/docker/registry/v2/…, no leading slash', async () => {
    const driver = await bucket.driver({ rootDirectory: '/tenant/a/' });
    await driver.putContent('/docker/registry/v2/repositories/x/_layers/link', 'l');
    const keys = (await client().send(new ListObjectsV2Command({ Bucket: bucket.name, Prefix: 'tenant/' }))).Contents?.map((o) => o.Key);
    expect(keys).toEqual(['tenant/a/docker/registry/v2/repositories/x/_layers/link']);
    // And reads what another writer put under those keys.
    await client().send(new PutObjectCommand({ Bucket: bucket.name, Key: 'tenant/a/docker/registry/v2/other', Body: 'o' }));
    expect((await driver.getContent('/docker/registry/v2/other')).toString()).toBe('o');
    expect(await driver.list('/docker/registry/v2')).toEqual(['other', 'repositories']);
  });

  it('appends across writers and driver instances: small tails merged, large heads copied inside S3', async () => {
    // Two instances, as two replicas: each PATCH may land on either.
    const [a, b] = [await bucket.driver(), await bucket.driver()];
    const path = '/append/upload/data';
    const chunks = [randomBytes(3 * MiB), randomBytes(4 * MiB), randomBytes(1 * MiB), randomBytes(7 * MiB + 17), randomBytes(5)];
    let expected = 0;
    for (const [i, chunk] of chunks.entries()) {
      expected += chunk.length;
      expect(await append(i % 2 ? b : a, path, chunk)).toBe(expected);
      expect((await (i % 2 ? a : b).stat(path)).size).toBe(expected);
    }
    expect(await sha(a, path)).toBe(digestOf(...chunks));
    expect(await pendingUploads()).toEqual([]);
  });

  it('rolls an append back on cancel, after parts were already uploaded, and leaves no multipart upload', async () => {
    const driver = await bucket.driver();
    const path = '/append/cancel/data';
    const first = randomBytes(6 * MiB);
    await append(driver, path, first);
    const w = await driver.writer(path, { append: true });
    await writeAll(w, randomBytes(12 * MiB));
    expect(w.size()).toBe(18 * MiB);
    await w.cancel();
    expect((await driver.stat(path)).size).toBe(6 * MiB);
    expect(await sha(driver, path)).toBe(digestOf(first));
    expect(await pendingUploads()).toEqual([]);
  });

  it('refuses to commit an append when another writer changed the object meanwhile', async () => {
    const [a, b] = [await bucket.driver(), await bucket.driver()];
    const path = '/append/race/data';
    await append(a, path, randomBytes(6 * MiB));
    const slow = await a.writer(path, { append: true });
    const winner = randomBytes(1 * MiB);
    await append(b, path, winner);
    await writeAll(slow, randomBytes(MiB));
    await expect(slow.commit()).rejects.toBeInstanceOf(StorageBackendError);
    expect((await a.stat(path)).size).toBe(7 * MiB);
    expect(await pendingUploads()).toEqual([]);
  });

  it('moves an object inside S3 and deletes a tree of more than one DeleteObjects batch', { timeout: 180_000 }, async () => {
    const driver = await bucket.driver();
    const data = randomBytes(6 * MiB);
    await driver.putContent('/mv/src', data);
    await driver.move('/mv/src', '/mv/dst/data');
    expect(await sha(driver, '/mv/dst/data')).toBe(digestOf(data));
    await expect(driver.stat('/mv/src')).rejects.toBeInstanceOf(PathNotFoundError);

    const names = Array.from({ length: 1050 }, (_, i) => `/many/d${i % 7}/o${i}`);
    for (let i = 0; i < names.length; i += 150) await Promise.all(names.slice(i, i + 150).map((n) => driver.putContent(n, 'x')));
    await driver.delete('/many');
    await expect(driver.list('/many')).rejects.toBeInstanceOf(PathNotFoundError);
  });

  it('gives a presigned URL with redirect on, which serves the object and ranges of it', async () => {
    const plain = await bucket.driver();
    expect(plain.urlFor).toBeUndefined();
    const driver = await bucket.driver({ redirect: true });
    await driver.putContent('/signed/obj', '0123456789');
    const url = await driver.urlFor!('/signed/obj', { expiresInSeconds: 60 });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:5500\/.*X-Amz-Signature=/);
    expect(await (await fetch(url)).text()).toBe('0123456789');
    const part = await fetch(url, { headers: { Range: 'bytes=2-4' } });
    expect(part.status).toBe(206);
    expect(await part.text()).toBe('234');
  });

  it('streams a reader without holding the object: the first bytes arrive before the rest is read', async () => {
    const driver = await bucket.driver();
    await driver.putContent('/stream/big', randomBytes(4 * MiB));
    const stream = await driver.reader('/stream/big', { offset: MiB });
    const first = (await stream[Symbol.asyncIterator]().next()).value as Buffer;
    expect(first.length).toBeLessThan(3 * MiB);
    stream.destroy();
    const raw = await client().send(new GetObjectCommand({ Bucket: bucket.name, Key: 'stream/big', Range: 'bytes=0-0' }));
    expect(raw.ContentLength).toBe(1);
    await raw.Body!.transformToByteArray();
  });

  it('finds repository directories by marker in delimiter listings, exactly as the catalog walk does', async () => {
    const driver = await bucket.driver({ rootDirectory: 'markers' });
    const memory = new MemoryDriver();
    const root = '/docker/registry/v2/repositories';
    const tree = [
      'a/_manifests/tags/t/current/link',
      'a/_layers/sha256/ab/link',
      'a/b/_manifests/revisions/sha256/ab/link',
      'a/b.c/_uploads/0000/startedat',
      'a-b/_layers/sha256/ab/link',
      'a0/_manifests/tags/t/current/link',
      'deep/er/and/deeper/_manifests/tags/t/current/link',
      'x/_referrers/sha256/ab/_manifests/link',
      'x/_uploads/1111/data',
      'stray-object',
    ];
    for (const path of tree) await Promise.all([driver, memory].map((d) => d.putContent(`${root}/${path}`, 'x')));
    for (const markers of [['_manifests'], ['_manifests', '_layers', '_uploads'], ['_nothing']]) {
      const expected = await listRepositoryDirs(memory, markers);
      expect(await driver.findDirsWith!(root, markers), markers.join()).toEqual(expected);
      expect(await listRepositoryDirs(driver, markers)).toEqual(expected);
    }
    await expect(driver.findDirsWith!('/nowhere', ['_manifests'])).rejects.toBeInstanceOf(PathNotFoundError);
    await expect(driver.findDirsWith!(root, ['manifests'])).rejects.toBeInstanceOf(InvalidPathError);
  });

  it('fails at start with one clear line for a missing bucket, bad credentials or a small chunk size', async () => {
    await expect(createS3Driver(s3Config('regctl-no-such-bucket'), silentLogger)).rejects.toThrow(
      /^S3 bucket "regctl-no-such-bucket" at http:\/\/127\.0\.0\.1:5500: does not exist$/,
    );
    await expect(createS3Driver(s3Config(bucket.name, { secretKey: 'wrong' }), silentLogger)).rejects.toThrow(/^S3 bucket .*: S3 .*403/);
    await expect(createS3Driver(s3Config(bucket.name, { chunkSize: MiB }), silentLogger)).rejects.toThrow(/chunksize must be at least 5242880/);
  });
});
