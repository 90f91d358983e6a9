// regctl's garbage collection against the CNCF registry's, on a tree the CNCF registry wrote.
import { Readable } from 'node:stream';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/client/client.js';
import { collectGarbage } from '../../src/registry/gc/collect.js';
import { FilesystemDriver } from '../../src/storage/filesystem.js';
import { startCncfRegistry } from '../helpers/cncf-registry.js';
import { buildImage, buildIndex, randomBlob, subjectOf, type BuiltManifest, type Image } from '../helpers/fixtures.js';
import { INTEROP_TIMEOUT_MS, interopGate, run, tempDir, type TempDir } from '../helpers/interop.js';

const ready = interopGate('garbage collection compared with the CNCF registry', ['docker-registry']);

interface Scenario {
  superseded: Image;
  current: Image;
  shared: Image;
  children: Image[];
  index: BuiltManifest;
  signed: Image;
  signature: Image;
  orphan: { digest: string };
}

async function push(client: RegistryClient, repo: string, image: Image, reference: string): Promise<void> {
  for (const blob of image.blobs) {
    if ((await client.headBlob(repo, blob.digest)) !== undefined) continue;
    await client.pushBlob(repo, blob.digest, blob.size, () => Readable.from([blob.data]));
  }
  await client.putManifest(repo, reference, image.manifest.body, image.manifest.mediaType);
}

/** The blobs `docker-registry garbage-collect --dry-run` says it would delete. */
async function cncfEligible(configFile: string, deleteUntagged: boolean): Promise<{ blobs: Set<string> }> {
  const out = await run('docker-registry', ['garbage-collect', '--dry-run', ...(deleteUntagged ? ['--delete-untagged'] : []), configFile]);
  return { blobs: new Set([...out.matchAll(/blob eligible for deletion: (sha256:[a-f0-9]{64})/g)].map((m) => m[1]!)) };
}

describe.runIf(ready)('gc on a root the CNCF registry wrote', { timeout: INTEROP_TIMEOUT_MS }, () => {
  let work: TempDir;
  let root: string;
  let configFile: string;
  const s = {} as Scenario;

  beforeAll(async () => {
    work = await tempDir('gc-cncf');
    root = join(work.path, 'root');
    configFile = join(work.path, 'gc.yml');
    await writeFile(configFile, `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${root}\n  delete:\n    enabled: true\n`);
    const cncf = await startCncfRegistry({ root });
    const client = new RegistryClient({ registry: cncf.host, scheme: 'http' });
    try {
      s.superseded = buildImage();
      s.current = buildImage();
      await push(client, 'app', s.superseded, 'v1');
      await push(client, 'app', s.current, 'v1'); // the tag moves: superseded is untagged now
      s.shared = buildImage();
      await push(client, 'other', s.shared, 'v1');
      // Linked into a second repository, referenced by no kept manifest: garbage for both collectors.
      const linkedOnly = s.superseded.blobs[1]!;
      await client.pushBlob('other', linkedOnly.digest, linkedOnly.size, () => Readable.from([linkedOnly.data]));
      s.children = [buildImage(), buildImage()];
      for (const child of s.children) await push(client, 'multi', child, child.manifest.digest);
      s.index = buildIndex(s.children.map((c) => c.manifest));
      await client.putManifest('multi', 'v1', s.index.body, s.index.mediaType);
      s.signed = buildImage();
      await push(client, 'signed', s.signed, 'v1');
      s.signature = buildImage({ artifactType: 'application/vnd.example.signature', layers: 1, subject: subjectOf(s.signed.manifest) });
      await push(client, 'signed', s.signature, s.signature.manifest.digest);
      const orphan = randomBlob(777);
      await client.pushBlob('junk', orphan.digest, orphan.size, () => Readable.from([orphan.data]));
      s.orphan = orphan;
    } finally {
      await client.close();
      await cncf.stop();
    }
  }, INTEROP_TIMEOUT_MS);

  afterAll(async () => {
    await work?.remove();
  });

  const regctlDryRun = async (deleteUntagged: boolean) => {
    const report = await collectGarbage(new FilesystemDriver(root), { dryRun: true, deleteUntagged, graceMs: 0, uploadsOlderThanMs: 86_400_000 });
    return { blobs: new Set(report.removed.blobs.map((b) => b.digest)) };
  };

  it('without --delete-untagged both find the same blobs', async () => {
    const cncf = await cncfEligible(configFile, false);
    const ours = await regctlDryRun(false);
    expect(ours.blobs).toEqual(cncf.blobs);
    expect(ours.blobs.has(s.orphan.digest)).toBe(true);
  });

  it('with --delete-untagged, the same blobs except where the CNCF registry breaks images', async () => {
    const cncf = await cncfEligible(configFile, true);
    const ours = await regctlDryRun(true);
    // The CNCF registry (2.8) treats the children of a tagged index as untagged and deletes them with
    // their layers, breaking the multi-arch image; and it deletes an untagged signature although its
    // subject stays. regctl keeps both: every other difference would be a bug.
    const keptByRegctl = new Set([
      ...s.children.flatMap((c) => [c.manifest.digest, ...c.blobs.map((b) => b.digest)]),
      s.signature.manifest.digest,
      ...s.signature.blobs.map((b) => b.digest),
    ]);
    const cncfMinusBreakage = new Set([...cncf.blobs].filter((d) => !keptByRegctl.has(d)));
    expect(ours.blobs).toEqual(cncfMinusBreakage);
    expect([...cncf.blobs].some((d) => keptByRegctl.has(d))).toBe(true);
    expect(ours.blobs.has(s.superseded.manifest.digest)).toBe(true);
  });

  it('after a real regctl gc the CNCF registry still serves every kept image', async () => {
    const report = await collectGarbage(new FilesystemDriver(root), { dryRun: false, deleteUntagged: true, graceMs: 0, uploadsOlderThanMs: 86_400_000 });
    expect(report.summary.blobsRemoved).toBeGreaterThan(0);
    const cncf = await startCncfRegistry({ root });
    const client = new RegistryClient({ registry: cncf.host, scheme: 'http' });
    try {
      const kept: [string, string, Image | BuiltManifest][] = [
        ['app', 'v1', s.current],
        ['other', 'v1', s.shared],
        ['multi', 'v1', s.index],
        ['signed', 'v1', s.signed],
        ['signed', s.signature.manifest.digest, s.signature],
        ...s.children.map((c): [string, string, Image] => ['multi', c.manifest.digest, c]),
      ];
      for (const [repo, ref, item] of kept) {
        const manifest = 'manifest' in item ? item.manifest : item;
        expect((await client.getManifest(repo, ref)).digest).toBe(manifest.digest);
        for (const blob of 'blobs' in item ? item.blobs : []) {
          const { stream } = await client.getBlob(repo, blob.digest);
          for await (const _ of stream);
        }
      }
      expect(await client.headManifest('app', s.superseded.manifest.digest)).toBeUndefined();
    } finally {
      await client.close();
      await cncf.stop();
    }
  });
});
