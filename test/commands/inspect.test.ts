import { beforeAll, describe, expect, it } from 'vitest';
import { runDigest, runInspect } from '../../src/commands/inspect.js';
import { runCli } from '../helpers/cli.js';
import { blobOf, buildImage, buildIndex, encodeManifest, MT, subjectOf, uniqueRepo, type Image } from '../helpers/fixtures.js';
import { manifestPath, pushImage, pushManifestOk, useRegistry } from '../helpers/http.js';
import { runProgram, testDeps } from './helpers.js';

const ctx = useRegistry('memory');
const repo = uniqueRepo('inspect');
let image: Image;
let arm: Image;

const CONFIG = {
  created: '2024-05-01T12:00:00Z',
  architecture: 'arm64',
  os: 'linux',
  variant: 'v8',
  config: { Labels: { 'org.opencontainers.image.source': 'https://example.test/app', team: 'infra' }, Entrypoint: ['/app'], Cmd: ['--serve'] },
  rootfs: { type: 'layers', diff_ids: [] },
};

beforeAll(async () => {
  image = buildImage({ config: blobOf(JSON.stringify(CONFIG)), layers: 3 });
  await pushImage(ctx.http, repo, image, 'v1');
  arm = buildImage();
  await pushImage(ctx.http, repo, arm);
});

function sizeOf(img: Image): number {
  return img.manifest.size + img.blobs.reduce((sum, b) => sum + b.size, 0);
}

describe('regctl inspect', () => {
  it('an image: digest, media type, size of manifest + config + layers, and its config', async () => {
    const { deps } = await testDeps();
    const result = await runInspect(`${ctx.reg.host}/${repo}:v1`, {}, deps);
    const manifest = JSON.parse(image.manifest.body.toString('utf8'));
    expect(result).toEqual({
      reference: `${ctx.reg.host}/${repo}:v1`,
      kind: 'image',
      digest: image.manifest.digest,
      mediaType: MT.ociManifest,
      size: sizeOf(image),
      config: {
        ...manifest.config,
        created: CONFIG.created,
        os: 'linux',
        architecture: 'arm64',
        variant: 'v8',
        labels: CONFIG.config.Labels,
        entrypoint: ['/app'],
        cmd: ['--serve'],
      },
      layers: manifest.layers,
    });
  });

  it('an index: its platforms with their digests; shared blobs counted once in the size', async () => {
    // Another manifest over the same config and layers: an index's size counts shared blobs once.
    const twin = encodeManifest({ ...JSON.parse(image.manifest.body.toString('utf8')), annotations: { twin: 'yes' } }, MT.ociManifest);
    await pushManifestOk(ctx.http, repo, twin.digest, twin);
    const index = buildIndex([image.manifest, arm.manifest, twin]);
    await pushManifestOk(ctx.http, repo, 'multi', index);

    const { deps } = await testDeps();
    const result = await runInspect(`${ctx.reg.host}/${repo}:multi`, {}, deps);
    expect(result.kind).toBe('index');
    if (result.kind !== 'index') return;
    expect(result.manifests).toEqual([
      { digest: image.manifest.digest, mediaType: MT.ociManifest, size: sizeOf(image), platform: { architecture: 'amd64', os: 'linux' } },
      { digest: arm.manifest.digest, mediaType: MT.ociManifest, size: sizeOf(arm), platform: { architecture: 'arm64', os: 'linux' } },
      { digest: twin.digest, mediaType: MT.ociManifest, size: twin.size + sizeOf(image) - image.manifest.size, platform: { architecture: 'riscv64', os: 'linux' } },
    ]);
    expect(result.size).toBe(index.size + sizeOf(image) + sizeOf(arm) + twin.size);

    const t = await testDeps();
    await runProgram(t, ['inspect', `${ctx.reg.host}/${repo}:multi`]);
    expect(t.stdout()).toContain(`Manifests\nPLATFORM       DIGEST`);
    expect(t.stdout()).toContain(`linux/amd64    ${image.manifest.digest}`);
    expect(t.stdout()).toMatch(/^Size {8}\d.* \(index and 3 manifests\)$/m);
  });

  it('an index whose platform manifest is gone still inspects, marking it missing', async () => {
    const gone = buildImage();
    await pushImage(ctx.http, repo, gone);
    const index = buildIndex([arm.manifest, gone.manifest]);
    await pushManifestOk(ctx.http, repo, 'partial', index);
    await ctx.http.send('DELETE', manifestPath(repo, gone.manifest.digest));

    const { deps } = await testDeps();
    const result = await runInspect(`${ctx.reg.host}/${repo}:partial`, {}, deps);
    if (result.kind !== 'index') throw new Error(`expected an index, got ${result.kind}`);
    expect(result.manifests[1]).toEqual({ digest: gone.manifest.digest, mediaType: MT.ociManifest, size: gone.manifest.size, platform: { architecture: 'arm64', os: 'linux' }, missing: true });
    expect(result.size).toBe(index.size + sizeOf(arm));

    const t = await testDeps();
    await runProgram(t, ['inspect', `${ctx.reg.host}/${repo}:partial`]);
    expect(t.stdout()).toMatch(/ \(index and 2 manifests, 1 not in the registry\)$/m);
    expect(t.stdout()).toMatch(new RegExp(`^linux/arm64 +${gone.manifest.digest}  not in the registry$`, 'm'));
  });

  it('an artifact: its artifact type and blobs, no image config', async () => {
    const artifact = buildImage({ artifactType: 'application/vnd.example.sbom+json', layers: 1, subject: subjectOf(image.manifest) });
    await pushImage(ctx.http, repo, artifact, 'sbom');
    const { deps } = await testDeps();
    const result = await runInspect(`${ctx.reg.host}/${repo}:sbom`, {}, deps);
    expect(result).toMatchObject({ kind: 'image', artifactType: 'application/vnd.example.sbom+json', size: sizeOf(artifact) });
    expect(result.subject?.digest).toBe(image.manifest.digest);
    if (result.kind === 'image') expect(Object.keys(result.config).sort()).toEqual(['digest', 'mediaType', 'size']);

    const t = await testDeps();
    await runProgram(t, ['inspect', `${ctx.reg.host}/${repo}:sbom`]);
    expect(t.stdout()).toMatch(/^Artifact type {2}application\/vnd\.example\.sbom\+json$/m);
    expect(t.stdout()).toMatch(/^Blobs\nDIGEST +SIZE +MEDIA TYPE\n/m);
  });

  it('human output: aligned fields, labels one per line, then the layers', async () => {
    const t = await testDeps();
    await runProgram(t, ['inspect', `${ctx.reg.host}/${repo}:v1`]);
    const lines = t.stdout().split('\n');
    expect(lines.slice(0, 3)).toEqual([`Reference   ${ctx.reg.host}/${repo}:v1`, `Digest      ${image.manifest.digest}`, `Media type  ${MT.ociManifest}`]);
    expect(lines).toContain('Platform    linux/arm64/v8');
    expect(lines).toContain('Entrypoint  ["/app"]');
    expect(lines).toContain('Labels      org.opencontainers.image.source=https://example.test/app');
    expect(lines).toContain('            team=infra');
    expect(lines).toContain('Layers');
    expect(lines.filter((l) => l.startsWith('sha256:'))).toHaveLength(3);
    expect(t.stderr()).toBe('');
  });

  it('shows a spinner on a terminal’s stderr, and never with --json', async () => {
    for (const json of [false, true]) {
      const t = await testDeps({ stderrTty: true });
      await runProgram(t, ['inspect', `${ctx.reg.host}/${repo}:v1`, ...(json ? ['--json'] : [])]);
      expect(t.stderr() === '', `stderr ${json ? 'empty' : 'used'} with json=${json}`).toBe(json);
      expect(t.stdout()).toContain(image.manifest.digest);
    }
  });
});

describe('regctl digest', () => {
  it('prints only the digest, by tag or by digest', async () => {
    const { deps } = await testDeps();
    expect(await runDigest(`${ctx.reg.host}/${repo}:v1`, {}, deps)).toEqual({ digest: image.manifest.digest });
    const t = await testDeps();
    await runProgram(t, ['digest', `${ctx.reg.host}/${repo}@${arm.manifest.digest}`]);
    expect(t.stdout()).toBe(`${arm.manifest.digest}\n`);
  });

  it('end to end: --json is one document; a missing tag exits 3 for inspect and digest', async () => {
    const json = await runCli(['digest', `${ctx.reg.host}/${repo}:v1`, '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ digest: image.manifest.digest });

    const inspected = await runCli(['inspect', `${ctx.reg.host}/${repo}:v1`, '--json']);
    expect(inspected.code).toBe(0);
    expect(JSON.parse(inspected.stdout)).toMatchObject({ digest: image.manifest.digest, kind: 'image', layers: expect.any(Array) });
    expect(inspected.stderr).toBe('');

    for (const command of ['digest', 'inspect']) {
      const missing = await runCli([command, `${ctx.reg.host}/${repo}:nope`]);
      expect({ command, code: missing.code, stdout: missing.stdout }).toEqual({ command, code: 3, stdout: '' });
      expect(missing.stderr).toMatch(/^regctl: .*\n$/);
    }
  });
});
