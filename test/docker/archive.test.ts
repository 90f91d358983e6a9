// push --archive and pull --archive against regctl's own registry: no engine involved, so these run everywhere.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PullResult, PushResult } from '../../src/commands/push.js';
import { indexArchive, readDockerSave } from '../../src/docker/archive.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { sha256 } from '../helpers/fixtures.js';
import { buildImageFixture, writeLocal } from '../helpers/images.js';
import { run } from '../helpers/interop.js';
import { startRegistry, type TestRegistry } from '../helpers/server.js';

interface SavedImage {
  repoTags: string[];
  id: string;
  diffIds: string[];
}

/** A tar with one random file: a layer as `docker save` stores it (uncompressed). */
async function layerTar(size: number): Promise<Buffer> {
  const tar = pack();
  tar.entry({ name: `random-${randomBytes(4).toString('hex')}.bin`, size, mtime: new Date(0) }, randomBytes(size));
  tar.finalize();
  return buffer(tar);
}

/** A `docker save` tarball in the legacy layout, `images` × `layers` random layers. */
async function dockerSave(file: string, images: Array<{ repoTags: string[]; layers: number }>): Promise<SavedImage[]> {
  const tar = pack();
  const saved: SavedImage[] = [];
  const entries: Array<{ Config: string; RepoTags: string[]; Layers: string[] }> = [];
  for (const spec of images) {
    const layers = await Promise.all(Array.from({ length: spec.layers }, (_, i) => layerTar(4096 * (i + 1))));
    const diffIds = layers.map((l) => sha256(l));
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } }));
    const id = sha256(config);
    const names = diffIds.map((d) => `${d.slice(7)}/layer.tar`);
    layers.forEach((layer, i) => tar.entry({ name: names[i]! }, layer));
    tar.entry({ name: `${id.slice(7)}.json` }, config);
    entries.push({ Config: `${id.slice(7)}.json`, RepoTags: spec.repoTags, Layers: names });
    saved.push({ repoTags: spec.repoTags, id, diffIds });
  }
  tar.entry({ name: 'manifest.json' }, JSON.stringify(entries));
  tar.finalize();
  await writeFile(file, await buffer(tar));
  return saved;
}

function json<T>(result: CliResult): T {
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as T;
}

describe('regctl push --archive / pull --archive', () => {
  let registry: TestRegistry;
  let dir: string;

  beforeAll(async () => {
    registry = await startRegistry();
    dir = await mkdtemp(join(tmpdir(), 'regctl-archive-test-'));
  });
  afterAll(async () => {
    await registry.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('pushes a docker save tarball and pulls back a tarball with the same image and layers', async () => {
    const file = join(dir, 'one.tar');
    const [image] = await dockerSave(file, [{ repoTags: ['app:1'], layers: 3 }]);
    const ref = `${registry.host}/archive/app:v1`;
    const pushed = json<PushResult>(await runCli(['push', '--archive', file, ref, '--json']));
    expect(pushed.pushed).toEqual([{ source: file, reference: ref, digest: expect.stringMatching(/^sha256:/), id: image!.id, layers: { transferred: 3, existing: 0 } }]);

    // Layers went gzipped: the manifest names gzip layers whose contents are the saved tars.
    const manifest = JSON.parse((await runCli(['inspect', ref, '--json'])).stdout) as { layers: Array<{ mediaType: string }> };
    expect(manifest.layers.map((l) => l.mediaType)).toEqual(Array(3).fill('application/vnd.docker.image.rootfs.diff.tar.gzip'));

    const again = json<PushResult>(await runCli(['push', '--archive', file, ref, '--json']));
    expect(again.pushed[0]).toMatchObject({ digest: pushed.pushed[0]!.digest, layers: { transferred: 0, existing: 3 } });

    const out = join(dir, 'pulled.tar');
    const pulled = json<PullResult & { archive: string }>(await runCli(['pull', '--archive', out, ref, '--json']));
    expect(pulled).toEqual({ reference: ref, digest: pushed.pushed[0]!.digest, id: image!.id, layers: { transferred: 3, existing: 0 }, archive: out });
    const [back] = await readDockerSave(await indexArchive(out), out);
    expect(back!.repoTags).toEqual([ref]);
    expect(back!.config.digest).toBe(image!.id);
    expect(back!.layers.map((l) => l.diffId)).toEqual(image!.diffIds);
    expect(await Promise.all(back!.layers.map(async (l) => sha256(await buffer(l.file.open()))))).toEqual(image!.diffIds);
  });

  it('pushes plain tar layers with --no-compress', async () => {
    const file = join(dir, 'plain.tar');
    const [image] = await dockerSave(file, [{ repoTags: [], layers: 1 }]);
    const ref = `${registry.host}/archive/plain:v1`;
    json<PushResult>(await runCli(['push', '--archive', file, ref, '--no-compress', '--json']));
    const manifest = JSON.parse((await runCli(['inspect', ref, '--json'])).stdout) as { layers: Array<{ mediaType: string; digest: string }> };
    expect(manifest.layers).toMatchObject([{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar', digest: image!.diffIds[0] }]);
  });

  it('pushes every tag of a multi-image archive with --all-tags, and asks for it otherwise', async () => {
    const file = join(dir, 'two.tar');
    const [a, b] = await dockerSave(file, [
      { repoTags: ['x/a:1', 'x/a:one'], layers: 1 },
      { repoTags: ['x/b:2'], layers: 2 },
    ]);
    const without = await runCli(['push', '--archive', file, `${registry.host}/many`]);
    expect(without.stderr).toBe(`regctl: ${file} holds 2 images (x/a:1, x/a:one; x/b:2): push them all with --all-tags\n`);
    expect(without.code).toBe(2);

    const all = json<PushResult>(await runCli(['push', '--archive', file, `${registry.host}/many`, '--all-tags', '--json']));
    expect(all.pushed.map((p) => [p.reference, p.id])).toEqual([
      [`${registry.host}/many:1`, a!.id],
      [`${registry.host}/many:one`, a!.id],
      [`${registry.host}/many:2`, b!.id],
    ]);
  });

  it('refuses a truncated archive before pushing anything: no tag appears', async () => {
    const file = join(dir, 'truncated.tar');
    await dockerSave(file, [{ repoTags: ['t:1'], layers: 2 }]);
    await truncate(file, (await readFile(file)).length - 3000);
    const ref = `${registry.host}/archive/truncated:v1`;
    const result = await runCli(['push', '--archive', file, ref]);
    expect(result.stderr).toMatch(new RegExp(`^regctl: ${file} is not a complete tar archive: it ends at byte \\d+ without the end-of-archive marker \\(truncated\\?\\)\n$`));
    expect(result.code).toBe(1);
    expect((await runCli(['digest', ref])).code, 'the tag must not exist').toBe(3);

    // Cut inside a layer: found by reading the headers alone, before a byte is uploaded.
    await dockerSave(file, [{ repoTags: ['t:1'], layers: 2 }]);
    await truncate(file, 2000);
    const inside = await runCli(['push', '--archive', file, ref]);
    expect(inside.stderr).toMatch(new RegExp(`^regctl: ${file} is not a complete tar archive: it ends at byte 2000, inside the member at byte 0 \\(truncated\\?\\)\n$`));
    expect((await runCli(['digest', ref])).code, 'the tag must not exist').toBe(3);
  });

  it('refuses an archive whose layer does not match its config', async () => {
    const file = join(dir, 'corrupt.tar');
    await dockerSave(file, [{ repoTags: ['c:1'], layers: 1 }]);
    const bytes = await readFile(file);
    // Flip a byte inside the random payload of the first layer (after its two 512-byte headers).
    bytes[1024 + 100] ^= 0xff;
    await writeFile(file, bytes);
    const ref = `${registry.host}/archive/corrupt:v1`;
    const result = await runCli(['push', '--archive', file, ref]);
    expect(result.stderr).toMatch(/^regctl: .+ is corrupt: layer [0-9a-f]{64}\/layer\.tar has digest sha256:[0-9a-f]{64}, its config says sha256:[0-9a-f]{64}\n$/);
    expect(result.code).toBe(1);
    expect((await runCli(['digest', ref])).code).toBe(3);
  });

  it('pushes an OCI image layout, as a directory or a tarball, keeping the manifest digest', async () => {
    const fixture = await buildImageFixture({ format: 'oci', layers: 2 });
    const layout = join(dir, 'layout');
    await writeLocal(layout, 'v7', fixture);
    const fromDir = json<PushResult>(await runCli(['push', '--archive', layout, `${registry.host}/layout/dir`, '--all-tags', '--json']));
    expect(fromDir.pushed).toEqual([
      { source: `${layout}:v7`, reference: `${registry.host}/layout/dir:v7`, digest: fixture.top.digest, id: fixture.blobs[1]!.digest, layers: { transferred: 2, existing: 0 } },
    ]);

    const file = join(dir, 'layout.tar');
    await run('tar', ['-C', layout, '-cf', file, '.']);
    const fromTar = json<PushResult>(await runCli(['push', '--archive', file, `${registry.host}/layout/dir:copy`, '--json']));
    expect(fromTar.pushed[0]).toMatchObject({ digest: fixture.top.digest, layers: { transferred: 0, existing: 2 } });
  });

  it('names a missing archive (exit 3)', async () => {
    const result = await runCli(['push', '--archive', join(dir, 'nope.tar'), `${registry.host}/x:1`]);
    expect(result.stderr).toBe(`regctl: no such archive: ${join(dir, 'nope.tar')}\n`);
    expect(result.code).toBe(3);
  });
});

