import { createHash } from 'node:crypto';
import { access, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectGarbage, type GcOptions } from '../../src/registry/gc/collect.js';
import { FilesystemDriver } from '../../src/storage/filesystem.js';
import * as paths from '../../src/storage/paths.js';
import { buildImage, buildIndex, randomBlob, subjectOf, type Image } from '../helpers/fixtures.js';
import { manifestPath, patchChunk, pushBlob, pushImage, putManifest, RegistryHttp, startUpload, uploadsPath } from '../helpers/http.js';
import { startRegistry, type TestRegistry } from '../helpers/server.js';

const HOUR = 3600_000;
const now: GcOptions = { dryRun: false, deleteUntagged: false, graceMs: 0, uploadsOlderThanMs: 24 * HOUR };

let reg: TestRegistry;
let http: RegistryHttp;

beforeEach(async () => {
  reg = await startRegistry();
  http = new RegistryHttp(reg.url);
});
afterEach(async () => {
  await http.close();
  await reg.close();
});

async function push(repo: string, tag: string, image: Image): Promise<void> {
  await pushImage(http, repo, image, tag);
}

async function status(repo: string, reference: string): Promise<number> {
  return (await http.head(manifestPath(repo, reference))).status;
}

async function blobOnDisk(digest: string): Promise<boolean> {
  return access(join(reg.root!, paths.blobDir(digest))).then(
    () => true,
    () => false,
  );
}

function gc(options: Partial<GcOptions> = {}) {
  return reg.registry.collectGarbage({ ...now, ...options });
}

describe('mark and sweep', () => {
  it('keeps layers shared with another repository; frees what only the deleted image used', async () => {
    const shared = randomBlob(4096);
    const a = buildImage({ layers: 1 });
    a.blobs.push(shared);
    const aWithShared = buildImage({ layers: 0 });
    const imageA: Image = { manifest: rebuild(a, [a.blobs[1]!, shared]), blobs: [a.blobs[0]!, a.blobs[1]!, shared] };
    const imageB: Image = { manifest: rebuild(aWithShared, [shared]), blobs: [aWithShared.blobs[0]!, shared] };
    await push('team/a', 'v1', imageA);
    await push('team/b', 'v1', imageB);
    await http.send('DELETE', manifestPath('team/a', imageA.manifest.digest));

    const report = await gc({ explain: [shared.digest] });
    const removed = report.removed.blobs.map((b) => b.digest).sort();
    expect(removed).toEqual([imageA.manifest.digest, imageA.blobs[0]!.digest, imageA.blobs[1]!.digest].sort());
    expect(report.summary.bytesFreed).toBe(imageA.manifest.size + imageA.blobs[0]!.size + imageA.blobs[1]!.size);
    expect(report.explain[0]).toEqual({ digest: shared.digest, kept: true, reason: 'referenced', chain: ['team/b:v1', imageB.manifest.digest, shared.digest] });
    expect(report.repositories.find((r) => r.name === 'team/a')).toMatchObject({ blobsRemoved: 2 });
    expect(await blobOnDisk(shared.digest)).toBe(true);
    expect(await blobOnDisk(imageA.blobs[1]!.digest)).toBe(false);
    // The repository's link to a removed layer goes too.
    expect((await http.head(`/v2/team/a/blobs/${imageA.blobs[1]!.digest}`)).status).toBe(404);
    expect(await status('team/b', 'v1')).toBe(200);
  });

  it('an overwritten tag leaves the old manifest unless untagged manifests are deleted', async () => {
    const first = buildImage();
    const second = buildImage();
    await push('app', 'latest', first);
    await push('app', 'latest', second);

    const keep = await gc();
    expect(keep.summary.manifestsRemoved).toBe(0);
    expect(await status('app', first.manifest.digest)).toBe(200);

    const dry = await gc({ deleteUntagged: true, dryRun: true });
    expect(dry.removed.manifests).toEqual([{ repository: 'app', digest: first.manifest.digest }]);
    expect(await status('app', first.manifest.digest)).toBe(200);

    const real = await gc({ deleteUntagged: true });
    expect(real.removed).toEqual(dry.removed);
    expect(real.summary).toEqual({ ...dry.summary });
    expect(await status('app', first.manifest.digest)).toBe(404);
    expect(await status('app', 'latest')).toBe(200);
    for (const blob of first.blobs) expect(await blobOnDisk(blob.digest)).toBe(false);
  });

  it('never breaks a multi-arch index: its untagged children stay', async () => {
    const amd = buildImage();
    const arm = buildImage();
    for (const child of [amd, arm]) await pushImage(http, 'multi', child);
    const index = buildIndex([amd.manifest, arm.manifest]);
    expect((await putManifest(http, 'multi', 'v1', index)).status).toBe(201);

    const report = await gc({ deleteUntagged: true, explain: [arm.blobs[1]!.digest] });
    expect(report.removed.manifests).toEqual([]);
    expect(report.removed.blobs).toEqual([]);
    expect(report.explain[0]!.chain).toEqual(['multi:v1', index.digest, arm.manifest.digest, arm.blobs[1]!.digest]);
    for (const child of [amd, arm]) expect(await status('multi', child.manifest.digest)).toBe(200);
  });

  it('keeps untagged referrers of a kept subject, and lets them go with it', async () => {
    const subject = buildImage();
    await push('signed', 'v1', subject);
    const signature = buildImage({ artifactType: 'application/vnd.example.signature', layers: 1, subject: subjectOf(subject.manifest) });
    const signatureOfSignature = buildImage({ artifactType: 'application/vnd.example.signature', layers: 1, subject: subjectOf(signature.manifest) });
    await pushImage(http, 'signed', signature);
    await pushImage(http, 'signed', signatureOfSignature);

    const kept = await gc({ deleteUntagged: true });
    expect(kept.removed.manifests).toEqual([]);

    await http.send('DELETE', manifestPath('signed', 'v1'));
    const gone = await gc({ deleteUntagged: true });
    expect(gone.removed.manifests.map((m) => m.digest).sort()).toEqual(
      [subject.manifest.digest, signature.manifest.digest, signatureOfSignature.manifest.digest].sort(),
    );
    const referrers = await http.get(`/v2/signed/referrers/${subject.manifest.digest}`);
    expect(JSON.parse(referrers.body.toString()).manifests).toEqual([]);
  });

  it('keeps what was written within the grace period and says why', async () => {
    const loose = randomBlob(1000);
    await pushBlob(http, 'loose', loose);
    const young = await gc({ graceMs: HOUR });
    expect(young.removed.blobs).toEqual([]);
    expect(young.keptUnreferenced).toEqual([{ digest: loose.digest, size: 1000, reason: 'written within the grace period' }]);

    const old = await gc({ graceMs: 0 });
    expect(old.removed.blobs.map((b) => b.digest)).toEqual([loose.digest]);
  });

  it('an old blob linked again within the grace period is kept (a push reusing it is in progress)', async () => {
    const layer = randomBlob(1000);
    await pushBlob(http, 'one', layer);
    const past = new Date(Date.now() - 2 * HOUR);
    await utimes(join(reg.root!, 'docker/registry/v2', paths.blobData(layer.digest).slice(paths.ROOT.length)), past, past);
    await utimes(join(reg.root!, 'docker/registry/v2', paths.layerLink('one', layer.digest).slice(paths.ROOT.length)), past, past);
    expect((await http.send('POST', uploadsPath('two', `?mount=${layer.digest}&from=one`))).status).toBe(201);

    const report = await gc({ graceMs: HOUR });
    expect(report.removed.blobs).toEqual([]);
    expect(report.keptUnreferenced[0]).toMatchObject({ digest: layer.digest, reason: 'linked into a repository within the grace period' });
  });

  it('removes abandoned uploads older than the limit, and only those', async () => {
    const old = await startUpload(http, 'up');
    await patchChunk(http, old.location, Buffer.alloc(300, 1));
    const fresh = await startUpload(http, 'up');
    const oldId = old.location.split('/').pop()!.split('?')[0]!;
    await writeFile(join(reg.root!, 'docker/registry/v2', paths.uploadStartedAt('up', oldId).slice(paths.ROOT.length)), new Date(Date.now() - 48 * HOUR).toISOString());

    const report = await gc({ uploadsOlderThanMs: 24 * HOUR });
    expect(report.removed.uploads).toMatchObject([{ repository: 'up', id: oldId, size: 300 }]);
    expect((await http.get(old.location)).status).toBe(404);
    expect((await http.get(fresh.location)).status).toBe(204);
  });

  it('works offline on a root with its own driver, as `regctl gc --root` does', async () => {
    const image = buildImage();
    await push('off', 'v1', image);
    await http.send('DELETE', manifestPath('off', 'v1'));
    const report = await collectGarbage(new FilesystemDriver(reg.root!), { ...now, deleteUntagged: true });
    expect(report.removed.manifests).toEqual([{ repository: 'off', digest: image.manifest.digest }]);
    expect(report.summary.blobsRemoved).toBe(image.blobs.length + 1);
  });
});

/** The same image config with other layers (so two images can share a layer). */
function rebuild(image: Image, layers: { digest: string; size: number }[]) {
  const json = JSON.parse(image.manifest.body.toString('utf8')) as { layers: { digest: string; size: number; mediaType: string }[] };
  const mediaType = json.layers[0]?.mediaType ?? 'application/vnd.oci.image.layer.v1.tar+gzip';
  json.layers = layers.map((l) => ({ mediaType, digest: l.digest, size: l.size }));
  const body = Buffer.from(JSON.stringify(json, null, 3));
  return { mediaType: image.manifest.mediaType, body, digest: `sha256:${createHash('sha256').update(body).digest('hex')}`, size: body.length };
}
