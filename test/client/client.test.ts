// Every RegistryClient operation against `regctl serve` in-process.
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/client/client.js';
import { OciError } from '../../src/oci/errors.js';
import { MT, absentDigest, buildImage, randomBlob, subjectOf, uniqueRepo, type Blob, type Image } from '../helpers/fixtures.js';
import { startRegistry, type TestRegistry } from '../helpers/server.js';

describe('RegistryClient against regctl serve', () => {
  let reg: TestRegistry;
  let client: RegistryClient;

  beforeAll(async () => {
    reg = await startRegistry({ driver: 'memory' });
    client = new RegistryClient({ registry: reg.host, scheme: 'http' });
  });

  afterAll(async () => {
    await client?.close();
    await reg?.close();
  });

  async function pushBlob(repo: string, blob: Blob, chunkSize?: number): Promise<number> {
    let progress = 0;
    await client.pushBlob(repo, blob.digest, blob.size, () => Readable.from([blob.data]), { chunkSize, onProgress: (n) => (progress += n) });
    return progress;
  }

  async function pushImage(repo: string, tag: string, image: Image = buildImage()): Promise<Image> {
    for (const blob of image.blobs) await pushBlob(repo, blob);
    await client.putManifest(repo, tag, image.manifest.body, image.manifest.mediaType);
    return image;
  }

  it('pings', async () => {
    await client.ping();
  });

  it.each([
    ['in one PUT', undefined],
    ['in chunks, the last one short', 1000],
    ['in chunks of exactly its size', 3500],
  ])('pushes a blob %s, reporting progress, and streams it back', async (_how, chunkSize) => {
    const repo = uniqueRepo('client');
    const blob = randomBlob(3500);
    expect(await pushBlob(repo, blob, chunkSize)).toBe(blob.size);
    expect(await client.headBlob(repo, blob.digest)).toBe(blob.size);
    const { size, stream } = await client.getBlob(repo, blob.digest);
    expect(size).toBe(blob.size);
    expect((await buffer(stream)).equals(blob.data)).toBe(true);
  });

  it('puts a manifest and gets it by tag and by digest, byte for byte', async () => {
    const repo = uniqueRepo('client');
    const image = buildImage({ format: 'docker' });
    for (const blob of image.blobs) await pushBlob(repo, blob);
    const { manifest } = image;
    expect(await client.putManifest(repo, 'v1', manifest.body, manifest.mediaType)).toBe(manifest.digest);
    for (const reference of ['v1', manifest.digest]) {
      const got = await client.getManifest(repo, reference);
      expect(got).toMatchObject({ digest: manifest.digest, mediaType: MT.dockerManifest });
      expect(got.body.equals(manifest.body)).toBe(true);
    }
    expect(await client.headManifest(repo, 'v1')).toEqual({ digest: manifest.digest, mediaType: MT.dockerManifest, size: manifest.size });
  });

  it('tells what is missing: undefined from HEAD, MANIFEST_UNKNOWN and BLOB_UNKNOWN from GET', async () => {
    const repo = uniqueRepo('client');
    await pushImage(repo, 'v1');
    expect(await client.headManifest(repo, 'nope')).toBeUndefined();
    expect(await client.headBlob(repo, absentDigest())).toBeUndefined();
    await expect(client.getManifest(repo, 'nope')).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN', status: 404 });
    await expect(client.getBlob(repo, absentDigest())).rejects.toMatchObject({ code: 'BLOB_UNKNOWN', status: 404 });
  });

  it('lists tags and the catalog across pages, and stops at a limit', async () => {
    const prefix = uniqueRepo('paged');
    const repos = [`${prefix}/a`, `${prefix}/b`, `${prefix}/c`];
    const image = buildImage();
    const tags = ['t1', 't2', 't3', 't4', 't5'];
    for (const tag of tags) await pushImage(repos[0]!, tag, image);
    for (const repo of repos.slice(1)) await pushImage(repo, 'latest', image);

    expect(await client.tags(repos[0]!, { pageSize: 2 })).toEqual(tags);
    expect(await client.tags(repos[0]!, { pageSize: 2, limit: 3 })).toEqual(tags.slice(0, 3));
    const catalog = await client.catalog({ pageSize: 1 });
    expect(catalog.filter((r) => r.startsWith(prefix))).toEqual(repos);
    expect(await client.catalog({ limit: 2 })).toHaveLength(2);
  });

  it('mounts a blob another repository has, and says so when it does not', async () => {
    const from = uniqueRepo('client');
    const to = uniqueRepo('client');
    const blob = randomBlob();
    await pushBlob(from, blob);
    expect(await client.mountBlob(to, blob.digest, from)).toBe(true);
    expect(await client.headBlob(to, blob.digest)).toBe(blob.size);
    const absent = randomBlob();
    expect(await client.mountBlob(to, absent.digest, from)).toBe(false);
    expect(await client.headBlob(to, absent.digest)).toBeUndefined();
  });

  it('deletes manifests and blobs', async () => {
    const repo = uniqueRepo('client');
    const image = await pushImage(repo, 'v1');
    await client.deleteManifest(repo, image.manifest.digest);
    expect(await client.headManifest(repo, 'v1')).toBeUndefined();
    const layer = image.blobs[1]!;
    await client.deleteBlob(repo, layer.digest);
    expect(await client.headBlob(repo, layer.digest)).toBeUndefined();
  });

  it('finds referrers, filtered by artifact type', async () => {
    const repo = uniqueRepo('client');
    const subject = await pushImage(repo, 'v1');
    const signature = buildImage({ artifactType: 'application/vnd.test.signature', subject: subjectOf(subject.manifest), layers: 1 });
    const sbom = buildImage({ artifactType: 'application/vnd.test.sbom', subject: subjectOf(subject.manifest), layers: 1 });
    for (const artifact of [signature, sbom]) await pushImage(repo, `${artifact.manifest.digest.slice(7, 19)}`, artifact);

    const all = await client.referrers(repo, subject.manifest.digest);
    expect(all.map((d) => d.digest).sort()).toEqual([signature.manifest.digest, sbom.manifest.digest].sort());
    const sboms = await client.referrers(repo, subject.manifest.digest, { artifactType: 'application/vnd.test.sbom' });
    expect(sboms.map((d) => d.digest)).toEqual([sbom.manifest.digest]);
  });

  it('passes the registry’s refusals on as OCI errors', async () => {
    const repo = uniqueRepo('client');
    const image = buildImage();
    const err = await client.putManifest(repo, 'v1', image.manifest.body, image.manifest.mediaType).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OciError);
    expect((err as OciError).code).toBe('MANIFEST_BLOB_UNKNOWN');
  });
});
