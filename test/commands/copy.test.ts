import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CliDeps } from '../../src/cli/deps.js';
import { createProgram } from '../../src/cli/program.js';
import { DockerConfigStore } from '../../src/client/credentials.js';
import type { RegistryClient } from '../../src/client/client.js';
import { ensureReferrerListed } from '../../src/client/referrers-tag.js';
import { runCopy, type CopyFlags } from '../../src/commands/copy.js';
import * as paths from '../../src/storage/paths.js';
import { runCli } from '../helpers/cli.js';
import {
  buildImage,
  buildIndex,
  descriptorOf,
  encodeManifest,
  MT,
  randomBlob,
  seedImage,
  subjectOf,
  uniqueRepo,
  type BuiltManifest,
  type Image,
} from '../helpers/fixtures.js';
import { json, manifestPath, pushBlob, pushImage, pushManifestOk, RegistryHttp, blobPath } from '../helpers/http.js';
import { startRegistry, type TestRegistry } from '../helpers/server.js';
import { startAuthRegistry } from '../auth/fixture.js';
import { runProgram, testDeps as cliDeps } from './helpers.js';

interface Captured {
  deps: CliDeps;
  stdout: () => string;
  stderr: () => string;
}

/** A terminal this wide, with the cursor calls ora makes as no-ops: enough of tty.WriteStream for a spinner. */
const terminal = (columns: number) => ({ isTTY: true, columns, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });

/** Deps for in-process runs: no host Docker config or CAs, output captured, stderr a terminal of `columns` if given. */
function testDeps(options: { columns?: number } = {}): Captured {
  const stdout = new PassThrough();
  const stderr = Object.assign(new PassThrough(), options.columns === undefined ? { isTTY: false } : terminal(options.columns));
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const deps: CliDeps = {
    env: { NO_COLOR: '1' },
    stdin: new PassThrough(),
    stdout,
    stderr,
    dockerConfig: new DockerConfigStore(join(tmpdir(), `regctl-copy-test-${randomBytes(4).toString('hex')}`, 'config.json')),
    certsDir: join(tmpdir(), 'regctl-copy-test-no-certs'),
  };
  return { deps, stdout: () => out, stderr: () => err };
}

function copy(source: string, destination: string, flags: CopyFlags = {}) {
  return runCopy(source, destination, flags, testDeps().deps);
}

interface Side {
  reg: TestRegistry;
  http: RegistryHttp;
}

async function startSide(): Promise<Side> {
  const reg = await startRegistry();
  return { reg, http: new RegistryHttp(reg.url) };
}

/** Expects `side` to serve `manifest` under `reference`, byte for byte. */
async function expectManifest(side: Side, repo: string, reference: string, manifest: BuiltManifest): Promise<void> {
  const res = await side.http.get(manifestPath(repo, reference), { headers: { accept: manifest.mediaType } });
  expect(res.status, `GET ${repo}:${reference}`).toBe(200);
  expect(res.headers['docker-content-digest']).toBe(manifest.digest);
  expect(res.body.equals(manifest.body)).toBe(true);
}

async function expectBlobs(side: Side, repo: string, image: Image): Promise<void> {
  for (const blob of image.blobs) {
    const res = await side.http.get(blobPath(repo, blob.digest));
    expect(res.status, `GET blob ${blob.digest}`).toBe(200);
    expect(res.body.equals(blob.data), `bytes of ${blob.digest}`).toBe(true);
  }
}

const total = (image: Image): number => image.blobs.reduce((n, b) => n + b.size, 0);

describe('regctl copy', () => {
  let a: Side;
  let b: Side;
  beforeAll(async () => {
    [a, b] = await Promise.all([startSide(), startSide()]);
  });
  afterAll(async () => {
    for (const side of [a, b]) {
      await side?.http.close();
      await side?.reg.close();
    }
  });

  it('copies an image between two registries, keeping the tag, and skips every blob the second time', async () => {
    const repo = uniqueRepo('copy');
    const image = buildImage({ layers: 3, layerSize: 256 * 1024 });
    await pushImage(a.http, repo, image, 'v1');

    const first = await copy(`${a.reg.host}/${repo}:v1`, `${b.reg.host}/mirror/app`);
    expect(first).toEqual({
      source: `${a.reg.host}/${repo}:v1`,
      destination: `${b.reg.host}/mirror/app:v1`,
      digest: image.manifest.digest,
      mediaType: MT.ociManifest,
      manifests: 1,
      referrers: 0,
      blobs: { copied: 4, skipped: 0, mounted: 0 },
      bytesCopied: total(image),
    });
    await expectManifest(b, 'mirror/app', 'v1', image.manifest);
    await expectBlobs(b, 'mirror/app', image);

    const second = await copy(`${a.reg.host}/${repo}:v1`, `${b.reg.host}/mirror/app`);
    expect({ blobs: second.blobs, bytesCopied: second.bytesCopied }).toEqual({ blobs: { copied: 0, skipped: 4, mounted: 0 }, bytesCopied: 0 });
  });

  it('copies a multi-arch index with all its children, by tag', async () => {
    const repo = uniqueRepo('copy');
    const images = [buildImage(), buildImage({ format: 'oci', layers: 1 })];
    for (const image of images) await pushImage(a.http, repo, image);
    const index = buildIndex(images.map((i) => i.manifest));
    await pushManifestOk(a.http, repo, 'multi', index);

    const result = await copy(`${a.reg.host}/${repo}:multi`, `${b.reg.host}/${repo}`);
    expect({ digest: result.digest, manifests: result.manifests, copied: result.blobs.copied }).toEqual({
      digest: index.digest,
      manifests: 3,
      copied: images[0]!.blobs.length + images[1]!.blobs.length,
    });
    await expectManifest(b, repo, 'multi', index);
    for (const image of images) {
      await expectManifest(b, repo, image.manifest.digest, image.manifest);
      await expectBlobs(b, repo, image);
    }
  });

  it('copies by digest when the source is named by digest', async () => {
    const repo = uniqueRepo('copy');
    const image = buildImage();
    await pushImage(a.http, repo, image);
    const result = await copy(`${a.reg.host}/${repo}@${image.manifest.digest}`, `${b.reg.host}/${repo}`);
    expect(result.destination).toBe(`${b.reg.host}/${repo}@${image.manifest.digest}`);
    await expectManifest(b, repo, image.manifest.digest, image.manifest);
    expect(json<{ tags: string[] | null }>(await b.http.get(`/v2/${repo}/tags/list`)).tags ?? []).toEqual([]);
  });

  it('mounts blobs within one registry instead of sending their bytes', async () => {
    const repo = uniqueRepo('copy');
    const image = buildImage({ layers: 2 });
    await pushImage(a.http, repo, image, 'v1');
    const uploads = [vi.spyOn(a.reg.registry.uploads, 'start'), vi.spyOn(a.reg.registry.blobs, 'ingest')];
    try {
      const result = await copy(`${a.reg.host}/${repo}:v1`, `${a.reg.host}/${repo}-copy:v2`);
      expect({ blobs: result.blobs, bytesCopied: result.bytesCopied }).toEqual({ blobs: { copied: 0, skipped: 0, mounted: 3 }, bytesCopied: 0 });
      expect(uploads.map((spy) => spy.mock.calls.length), 'uploads started, monolithic uploads').toEqual([0, 0]);
    } finally {
      for (const spy of uploads) spy.mockRestore();
    }
    await expectManifest(a, `${repo}-copy`, 'v2', image.manifest);
    await expectBlobs(a, `${repo}-copy`, image);
  });

  it('brings referrers along with --referrers, recursively, and only then', async () => {
    const repo = uniqueRepo('copy');
    const image = buildImage();
    await pushImage(a.http, repo, image, 'signed');
    const signature = buildImage({ artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json', layers: 1, subject: subjectOf(image.manifest) });
    const sbom = buildImage({ artifactType: 'application/spdx+json', layers: 1, subject: subjectOf(image.manifest) });
    const sbomSignature = buildImage({ artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json', layers: 1, subject: subjectOf(sbom.manifest) });
    for (const artifact of [signature, sbom, sbomSignature]) await pushImage(a.http, repo, artifact);
    const listed = async (target: string, subject: BuiltManifest): Promise<string[]> =>
      json<{ manifests: { digest: string }[] }>(await b.http.get(`/v2/${target}/referrers/${subject.digest}`)).manifests.map((d) => d.digest).sort();

    const without = await copy(`${a.reg.host}/${repo}:signed`, `${b.reg.host}/${repo}-plain`);
    expect(without.referrers).toBe(0);
    expect(await listed(`${repo}-plain`, image.manifest)).toEqual([]);

    const result = await copy(`${a.reg.host}/${repo}:signed`, `${b.reg.host}/${repo}`, { referrers: true });
    expect({ manifests: result.manifests, referrers: result.referrers }).toEqual({ manifests: 4, referrers: 3 });
    expect(await listed(repo, image.manifest)).toEqual([signature.manifest.digest, sbom.manifest.digest].sort());
    expect(await listed(repo, sbom.manifest)).toEqual([sbomSignature.manifest.digest]);
    for (const artifact of [signature, sbom, sbomSignature]) {
      await expectManifest(b, repo, artifact.manifest.digest, artifact.manifest);
      await expectBlobs(b, repo, artifact);
    }
  });

  it('leaves foreign layers (with urls) where they are', async () => {
    const repo = uniqueRepo('copy');
    const config = randomBlob(64);
    const layer = randomBlob(512);
    const foreign = descriptorOf('application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', randomBlob(128), {});
    const manifest = encodeManifest(
      {
        schemaVersion: 2,
        mediaType: MT.dockerManifest,
        config: descriptorOf(MT.dockerConfig, config),
        layers: [{ ...foreign, urls: ['https://mcr.example/layer'] }, descriptorOf(MT.dockerLayer, layer)],
      },
      MT.dockerManifest,
    );
    for (const blob of [config, layer]) await pushBlob(a.http, repo, blob);
    await pushManifestOk(a.http, repo, 'win', manifest);
    const result = await copy(`${a.reg.host}/${repo}:win`, `${b.reg.host}/${repo}`);
    expect(result.blobs.copied).toBe(2);
    await expectManifest(b, repo, 'win', manifest);
  });

  it('refuses a destination digest the source does not have, before writing anything', async () => {
    const repo = uniqueRepo('copy');
    const image = buildImage();
    await pushImage(a.http, repo, image, 'v1');
    const other = buildImage().manifest.digest;
    await expect(copy(`${a.reg.host}/${repo}:v1`, `${b.reg.host}/${repo}@${other}`)).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
    expect((await b.http.head(blobPath(repo, image.blobs[0]!.digest))).status).toBe(404);
  });

  it.each([
    { damage: 'garbage of the same length', code: 'DIGEST_INVALID', bytes: (size: number) => randomBytes(size) },
    { damage: 'a truncated copy', code: 'SIZE_INVALID', bytes: (size: number) => randomBytes(size - 1) },
  ])('fails on a source blob turned into $damage, and tags nothing', async ({ code, bytes }) => {
    const repo = uniqueRepo('copy');
    const image = buildImage({ layers: 3, layerSize: 64 * 1024 });
    await pushImage(a.http, repo, image, 'v1');
    const victim = image.blobs[2]!;
    await writeFile(join(a.reg.root!, paths.blobData(victim.digest)), bytes(victim.size));

    await expect(copy(`${a.reg.host}/${repo}:v1`, `${b.reg.host}/${repo}`)).rejects.toMatchObject({ code });
    expect((await b.http.head(manifestPath(repo, 'v1'))).status).toBe(404);
    expect((await b.http.head(blobPath(repo, victim.digest))).status).toBe(404);
  });

  it('shows blob lines on a terminal and nothing on stderr otherwise; --json prints one document', async () => {
    const repo = uniqueRepo('copy');
    const image = buildImage({ layers: 2 });
    await pushImage(a.http, repo, image, 'v1');
    const run = async (args: string[], columns?: number): Promise<Captured> => {
      const captured = testDeps({ columns });
      await (await createProgram(captured.deps)).parseAsync(['node', 'regctl', 'copy', `${a.reg.host}/${repo}:v1`, ...args]);
      return captured;
    };

    const spinning = await run([`${b.reg.host}/${repo}-tty`], 100);
    expect(spinning.stderr()).toMatch(/sha256:[0-9a-f]{12} +[0-9.]+ kB +copied/);
    expect(spinning.stdout()).toMatch(/^Copied .* in [0-9.]+ s\n {2}digest +sha256:/);

    // A pty that reports no size (script(1), some CI runners): lines, no spinner, and no hang.
    const sizeless = await run([`${b.reg.host}/${repo}-tty`], 0);
    expect(sizeless.stderr()).toMatch(/sha256:[0-9a-f]{12} +[0-9.]+ kB +exists/);

    const piped = await run([`${b.reg.host}/${repo}-tty`]);
    expect(piped.stderr()).toBe('');
    expect(piped.stdout()).toMatch(/3 already there/);

    const scripted = await run([`${b.reg.host}/${repo}-tty`, '--json'], 100);
    expect(scripted.stderr()).toBe('');
    expect(JSON.parse(scripted.stdout())).toMatchObject({ digest: image.manifest.digest, blobs: { skipped: 3 } });
  });

  it('exits 3 with one line when the source does not exist (built CLI)', async () => {
    const res = await runCli(['copy', `${a.reg.host}/${uniqueRepo('copy')}:nope`, `${b.reg.host}/anything`]);
    expect({ code: res.code, stdout: res.stdout, lines: res.stderr.trim().split('\n').length }).toEqual({ code: 3, stdout: '', lines: 1 });
    expect(res.stderr).toMatch(/^regctl: .*(MANIFEST_UNKNOWN|NAME_UNKNOWN)/);
  });
});

describe('referrers on a registry without the referrers API', () => {
  const subject = `sha256:${'a'.repeat(64)}`;
  const existing = { mediaType: MT.ociManifest, digest: `sha256:${'b'.repeat(64)}`, size: 10 };
  const referrer = { mediaType: MT.ociManifest, digest: `sha256:${'c'.repeat(64)}`, size: 20, artifactType: 'application/spdx+json' };
  /** The two calls ensureReferrerListed makes; `listed` is what referrers() finds (API or tag index). */
  function fakeClient(listed: (typeof existing)[]) {
    const putManifest = vi.fn(async () => 'sha256:ignored');
    return { client: { referrers: async () => listed, putManifest } as unknown as RegistryClient, putManifest };
  }

  it('adds the referrer to the sha256-<hex> tag index, keeping what it listed', async () => {
    const { client, putManifest } = fakeClient([existing]);
    await ensureReferrerListed(client, 'app', subject, referrer);
    expect(putManifest).toHaveBeenCalledTimes(1);
    const [repo, tag, body, mediaType] = putManifest.mock.calls[0] as unknown as [string, string, Buffer, string];
    expect({ repo, tag, mediaType, index: JSON.parse(body.toString('utf8')) }).toEqual({
      repo: 'app',
      tag: `sha256-${'a'.repeat(64)}`,
      mediaType: MT.ociIndex,
      index: { schemaVersion: 2, mediaType: MT.ociIndex, manifests: [existing, referrer] },
    });
  });

  it('writes nothing when the registry lists it already', async () => {
    const { client, putManifest } = fakeClient([existing, referrer]);
    await ensureReferrerListed(client, 'app', subject, referrer);
    expect(putManifest).not.toHaveBeenCalled();
  });
});

describe('regctl copy refused by access rules', () => {
  it("shows the registry's reason, not the bare status of a HEAD", async () => {
    const reg = await startAuthRegistry();
    try {
      await seedImage(reg.server.driver, 'public/app', 'v1', buildImage());
      const t = await cliDeps({ env: { REGCTL_USERNAME: 'mallory', REGCTL_PASSWORD: 'mallory-pw' } });
      const host = reg.server.host;
      const error = await runProgram(t, ['copy', `${host}/public/app:v1`, `${host}/team-a/app:mallory`]);
      expect(error).toMatchObject({ code: 'DENIED', message: 'requested access to the resource is denied: mallory may not pull team-a/app' });
      expect((error as Error).message).not.toMatch(/answered 403/);
    } finally {
      await reg.close();
    }
  });
});
