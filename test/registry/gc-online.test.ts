import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GcReport } from '../../src/registry/gc/report.js';
import * as paths from '../../src/storage/paths.js';
import { blobOf, descriptorOf, encodeManifest, MT, randomBlob, sha256, type Blob } from '../helpers/fixtures.js';
import { blobPath, manifestPath, monolithicPost, putManifest, uploadsPath, useRegistry } from '../helpers/http.js';

const PUSHERS = 16;
const IMAGES_PER_PUSHER = 10;
const SHARED_LAYERS = 8;
const HOUR = 3600_000;
const DEADLINE_MS = 60_000;

/**
 * The online guarantee, under load: 16 clients push images with their own and shared layers while gc
 * runs again and again with --delete-untagged. The shared layers start out old and unreferenced, so
 * every collection wants to delete them at the very moment pushers rely on them (mounted, or only
 * HEAD-checked in a repository that still has an old link). Every push that completes must pull
 * back whole afterwards.
 */
describe('garbage collection while 16 clients push', () => {
  const ctx = useRegistry('filesystem');

  async function age(storagePath: string): Promise<void> {
    const past = new Date(Date.now() - 2 * HOUR);
    await utimes(join(ctx.reg.root!, storagePath), past, past);
  }

  it('loses no completed push and deletes the garbage', async () => {
    const shared = Array.from({ length: SHARED_LAYERS }, () => randomBlob(64 * 1024));
    const garbage = Array.from({ length: 50 }, () => randomBlob(1024));
    for (const blob of [...shared, ...garbage]) expect((await monolithicPost(ctx.http, 'seed', blob)).status).toBe(201);
    for (const blob of [...shared, ...garbage]) {
      await age(paths.blobData(blob.digest));
      await age(paths.layerLink('seed', blob.digest));
    }
    // Old links in the pushers' own repositories: a client HEADs, sees the layer, skips the upload.
    for (let p = 0; p < PUSHERS; p += 2) {
      for (const blob of shared) {
        expect((await ctx.http.send('POST', uploadsPath(`pusher/${p}`, `?mount=${blob.digest}&from=seed`))).status).toBe(201);
        await age(paths.layerLink(`pusher/${p}`, blob.digest));
      }
    }

    const completed: { repo: string; digest: string; blobs: Blob[] }[] = [];
    const deadline = Date.now() + DEADLINE_MS;

    const pushOnce = async (repo: string, layers: Blob[], config: Blob, tag: string): Promise<boolean> => {
      for (const blob of [config, ...layers]) {
        if ((await ctx.http.head(blobPath(repo, blob.digest))).status === 200) continue;
        const mounted = await ctx.http.send('POST', uploadsPath(repo, `?mount=${blob.digest}&from=seed`));
        if (mounted.status === 201) continue;
        expect((await monolithicPost(ctx.http, repo, blob)).status).toBe(201);
      }
      const manifest = encodeManifest(
        { schemaVersion: 2, mediaType: MT.ociManifest, config: descriptorOf(MT.ociConfig, config), layers: layers.map((l) => descriptorOf(MT.ociLayer, l)) },
        MT.ociManifest,
      );
      const res = await putManifest(ctx.http, repo, tag, manifest);
      if (res.status === 201) {
        completed.push({ repo, digest: manifest.digest, blobs: [config, ...layers] });
        return true;
      }
      // A layer collected between the client's check and its manifest: the push did not complete.
      expect(res.status).toBe(404);
      return false;
    };

    const pusher = async (p: number): Promise<void> => {
      const repo = `pusher/${p}`;
      for (let i = 0; i < IMAGES_PER_PUSHER && Date.now() < deadline; i++) {
        const layers = [randomBlob(32 * 1024), shared[(p + i) % SHARED_LAYERS]!, shared[(p * 3 + i) % SHARED_LAYERS]!];
        const config = blobOf(JSON.stringify({ architecture: 'amd64', os: 'linux', pusher: p, image: i }));
        // Each image overwrites the tag, so earlier ones become untagged: --delete-untagged garbage.
        for (let attempt = 0; attempt < 3 && !(await pushOnce(repo, [...new Map(layers.map((l) => [l.digest, l])).values()], config, 'latest')); attempt++);
      }
    };

    const reports: GcReport[] = [];
    let pushing = true;
    const collector = (async () => {
      while (pushing && Date.now() < deadline) {
        reports.push(await ctx.reg.registry.collectGarbage({ dryRun: false, deleteUntagged: true, graceMs: 0, uploadsOlderThanMs: HOUR }));
      }
    })();
    await Promise.all(Array.from({ length: PUSHERS }, (_, p) => pusher(p)));
    pushing = false;
    await collector;
    reports.push(await ctx.reg.registry.collectGarbage({ dryRun: false, deleteUntagged: false, graceMs: 0, uploadsOlderThanMs: HOUR }));

    expect(reports.length).toBeGreaterThan(2);
    expect(completed.length).toBeGreaterThan(PUSHERS * 3);
    const removed = new Set(reports.flatMap((r) => r.removed.blobs.map((b) => b.digest)));
    for (const blob of garbage) expect(removed.has(blob.digest)).toBe(true);

    // Every completed push whose manifest was not collected as untagged later pulls back whole.
    const collected = new Set(reports.flatMap((r) => r.removed.manifests.map((m) => `${m.repository}@${m.digest}`)));
    let verified = 0;
    for (const image of completed) {
      if (collected.has(`${image.repo}@${image.digest}`)) continue;
      const manifest = await ctx.http.get(manifestPath(image.repo, image.digest));
      expect(manifest.status, `${image.repo}@${image.digest}`).toBe(200);
      expect(sha256(manifest.body)).toBe(image.digest);
      for (const blob of image.blobs) {
        const res = await ctx.http.get(blobPath(image.repo, blob.digest));
        expect(res.status, `${image.repo} blob ${blob.digest}`).toBe(200);
        expect(sha256(res.body)).toBe(blob.digest);
      }
      verified++;
    }
    // Each tag's latest image is never collected, so at least one image per pusher is verified.
    expect(verified).toBeGreaterThanOrEqual(PUSHERS);
  });
});
