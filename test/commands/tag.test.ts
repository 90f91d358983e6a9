import { beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/errors.js';
import { runDigest } from '../../src/commands/inspect.js';
import { runTag } from '../../src/commands/tag.js';
import { OciError } from '../../src/oci/errors.js';
import { runCli } from '../helpers/cli.js';
import { buildImage, buildIndex, MT, uniqueRepo, type Image } from '../helpers/fixtures.js';
import { manifestPath, pushImage, pushManifestOk, useRegistry } from '../helpers/http.js';
import { runProgram, testDeps } from './helpers.js';

const ctx = useRegistry('memory');
const repo = uniqueRepo('tag');
let image: Image;

beforeAll(async () => {
  image = buildImage({ format: 'docker' });
  await pushImage(ctx.http, repo, image, '1.2.3');
});

describe('regctl tag', () => {
  it('puts the same manifest under each new tag: every tag resolves to the same digest', async () => {
    const { deps } = await testDeps();
    const result = await runTag(`${ctx.reg.host}/${repo}:1.2.3`, ['1.2', '1', 'latest'], {}, deps);
    expect(result).toEqual({
      source: `${ctx.reg.host}/${repo}:1.2.3`,
      digest: image.manifest.digest,
      mediaType: MT.dockerManifest,
      tagged: ['1.2', '1', 'latest'].map((t) => `${ctx.reg.host}/${repo}:${t}`),
    });
    for (const tag of ['1.2.3', '1.2', '1', 'latest']) {
      expect(await runDigest(`${ctx.reg.host}/${repo}:${tag}`, {}, deps)).toEqual({ digest: image.manifest.digest });
    }
    // The bytes and media type are the pushed ones, not a re-encoding.
    const res = await ctx.http.get(manifestPath(repo, '1'), { headers: { accept: MT.dockerManifest } });
    expect(res.headers['content-type']).toBe(MT.dockerManifest);
    expect(res.body.equals(image.manifest.body)).toBe(true);
  });

  it('tags by digest, and an index keeps its media type', async () => {
    const other = buildImage();
    await pushImage(ctx.http, repo, other);
    const index = buildIndex([other.manifest]);
    await pushManifestOk(ctx.http, repo, index.digest, index);
    const t = await testDeps();
    expect(await runProgram(t, ['tag', `${ctx.reg.host}/${repo}@${index.digest}`, 'multi'])).toBeUndefined();
    expect(t.stdout()).toBe(`tagged ${ctx.reg.host}/${repo}:multi (${index.digest})\n`);
    const res = await ctx.http.head(manifestPath(repo, 'multi'));
    expect(res.headers['docker-content-digest']).toBe(index.digest);
    expect(res.headers['content-type']).toBe(MT.ociIndex);
  });

  it('new tags are tags in the same repository, nothing else', async () => {
    const { deps } = await testDeps();
    for (const bad of ['other/repo:1', 'repo:1', '-x', '']) {
      await expect(runTag(`${ctx.reg.host}/${repo}:1.2.3`, [bad], {}, deps), bad).rejects.toThrow(UsageError);
    }
  });

  it('an unknown source is not found', async () => {
    const { deps } = await testDeps();
    const err = await runTag(`${ctx.reg.host}/${repo}:nope`, ['x'], {}, deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OciError);
    expect((err as OciError).status).toBe(404);

    const cli = await runCli(['tag', `${ctx.reg.host}/${repo}:nope`, 'x']);
    expect(cli.code).toBe(3);
  });

  it('end to end: --json is the only output on stdout', async () => {
    const cli = await runCli(['tag', `${ctx.reg.host}/${repo}:1.2.3`, 'e2e', '--json']);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ digest: image.manifest.digest, tagged: [`${ctx.reg.host}/${repo}:e2e`] });
    expect(cli.stderr).toBe('');
  });
});
