import { beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/errors.js';
import { runTags } from '../../src/commands/tags.js';
import { runCli } from '../helpers/cli.js';
import { buildImage, uniqueRepo } from '../helpers/fixtures.js';
import { pushImage, pushManifestOk, useRegistry } from '../helpers/http.js';
import { runProgram, testDeps } from './helpers.js';

const TAGS = ['a1', 'a2', 'b1', 'b2', 'c1', 'c2', 'd1'];

describe('regctl tags', () => {
  const ctx = useRegistry('memory');
  const repo = uniqueRepo('tags');
  beforeAll(async () => {
    const image = buildImage();
    await pushImage(ctx.http, repo, image);
    for (const tag of TAGS) await pushManifestOk(ctx.http, repo, tag, image.manifest);
  });

  it('follows the Link header across pages until every tag is listed', async () => {
    const { deps } = await testDeps();
    const result = await runTags(`${ctx.reg.host}/${repo}`, { pageSize: 2 }, deps);
    expect(result).toEqual({ registry: ctx.reg.host, repository: repo, tags: TAGS });
  });

  it('stops after --limit tags, even in the middle of a page', async () => {
    const { deps } = await testDeps();
    const result = await runTags(`${ctx.reg.host}/${repo}`, { pageSize: 2, limit: 5 }, deps);
    expect(result.tags).toEqual(TAGS.slice(0, 5));
  });

  it('uses the configured default registry when the repository names none', async () => {
    const { deps } = await testDeps({ env: { REGCTL_REGISTRY: ctx.reg.host } });
    expect((await runTags(repo, {}, deps)).tags).toEqual(TAGS);
  });

  it('wants a repository, not a tag', async () => {
    const { deps } = await testDeps();
    await expect(runTags(`${ctx.reg.host}/${repo}:a1`, {}, deps)).rejects.toThrow(UsageError);
  });

  it('prints one tag per line, and says so when there are none', async () => {
    const t = await testDeps();
    expect(await runProgram(t, ['tags', `${ctx.reg.host}/${repo}`, '--page-size', '3'])).toBeUndefined();
    expect(t.stdout()).toBe(`${TAGS.join('\n')}\n`);
    expect(t.stderr()).toBe('');
  });

  it('end to end: --json is the only thing on stdout; an unknown repository exits 3', async () => {
    const ok = await runCli(['tags', `${ctx.reg.host}/${repo}`, '--json', '--limit', '2']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ registry: ctx.reg.host, repository: repo, tags: ['a1', 'a2'] });

    const missing = await runCli(['tags', `${ctx.reg.host}/no/such/repo`]);
    expect(missing.code).toBe(3);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/^regctl: .*NAME_UNKNOWN.*\n$/);
  });
});
