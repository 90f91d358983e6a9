import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/errors.js';
import { connect } from '../../src/client/connect.js';
import { runRm } from '../../src/commands/rm.js';
import { runCli } from '../helpers/cli.js';
import { startCncfRegistry } from '../helpers/cncf-registry.js';
import { buildImage, seedImage, uniqueRepo, type Image } from '../helpers/fixtures.js';
import { manifestPath, pushImage, pushManifestOk, useRegistry, type RegistryHttp } from '../helpers/http.js';
import { interopGate } from '../helpers/interop.js';
import { runProgram, testDeps } from './helpers.js';

/** A fresh repository holding one image under `tags`. */
async function seeded(http: RegistryHttp, tags: string[]): Promise<{ repo: string; image: Image }> {
  const repo = uniqueRepo('rm');
  const image = buildImage();
  await pushImage(http, repo, image);
  for (const tag of tags) await pushManifestOk(http, repo, tag, image.manifest);
  return { repo, image };
}

describe('regctl rm', () => {
  const ctx = useRegistry('memory');

  it('a tag is untagged: the manifest and its other tags stay', async () => {
    const { repo, image } = await seeded(ctx.http, ['a', 'b']);
    const { deps } = await testDeps();
    const result = await runRm([`${ctx.reg.host}/${repo}:a`], {}, deps);
    expect(result.results).toEqual([{ reference: `${ctx.reg.host}/${repo}:a`, removed: 'tag', digest: image.manifest.digest }]);
    expect((await ctx.http.head(manifestPath(repo, 'a'))).status).toBe(404);
    expect((await ctx.http.head(manifestPath(repo, 'b'))).status).toBe(200);
    expect((await ctx.http.head(manifestPath(repo, image.manifest.digest))).status).toBe(200);
  });

  it('a digest deletes the manifest, and with it every tag on it', async () => {
    const { repo, image } = await seeded(ctx.http, ['a', 'b']);
    const t = await testDeps();
    expect(await runProgram(t, ['rm', `${ctx.reg.host}/${repo}@${image.manifest.digest}`])).toBeUndefined();
    expect(t.stdout()).toBe(`deleted ${ctx.reg.host}/${repo}@${image.manifest.digest}\n`);
    for (const ref of [image.manifest.digest, 'a', 'b']) expect((await ctx.http.head(manifestPath(repo, ref))).status, ref).toBe(404);
  });

  it('goes on past a failure, reports each reference, and fails with the failures’ exit code', async () => {
    const { repo, image } = await seeded(ctx.http, ['a', 'b']);
    const t = await testDeps();
    const err = await runProgram(t, ['rm', `${ctx.reg.host}/${repo}:nope`, `${ctx.reg.host}/${repo}:a`, '--json']);
    expect(err).toMatchObject({ exitCode: 3, message: `cannot remove ${ctx.reg.host}/${repo}:nope: it is not in the registry` });
    expect(JSON.parse(t.stdout())).toEqual({
      results: [
        { reference: `${ctx.reg.host}/${repo}:nope`, error: `cannot remove ${ctx.reg.host}/${repo}:nope: it is not in the registry`, exitCode: 3 },
        { reference: `${ctx.reg.host}/${repo}:a`, removed: 'tag', digest: image.manifest.digest },
      ],
    });
    expect((await ctx.http.head(manifestPath(repo, 'a'))).status).toBe(404);
  });

  it('checks every reference before removing anything', async () => {
    const { repo } = await seeded(ctx.http, ['a']);
    const { deps } = await testDeps();
    await expect(runRm([`${ctx.reg.host}/${repo}:a`, `${ctx.reg.host}/${repo}`], {}, deps)).rejects.toThrow(UsageError);
    expect((await ctx.http.head(manifestPath(repo, 'a'))).status).toBe(200);
  });

  it('end to end: several failures are listed on stderr; a missing reference exits 3', async () => {
    const { repo } = await seeded(ctx.http, ['a']);
    const missing = await runCli(['rm', `${ctx.reg.host}/${repo}:nope`]);
    expect(missing).toMatchObject({ code: 3, stdout: '', stderr: `regctl: cannot remove ${ctx.reg.host}/${repo}:nope: it is not in the registry\n` });

    const two = await runCli(['rm', `${ctx.reg.host}/${repo}:x`, `${ctx.reg.host}/${repo}:a`, `${ctx.reg.host}/${repo}:y`]);
    expect(two.code).toBe(3);
    expect(two.stdout).toMatch(/^untagged .*:a \(sha256:[0-9a-f]{64}\)\n$/);
    expect(two.stderr.trim().split('\n')).toEqual([
      `regctl: cannot remove ${ctx.reg.host}/${repo}:x: it is not in the registry`,
      `regctl: cannot remove ${ctx.reg.host}/${repo}:y: it is not in the registry`,
      'regctl: 2 of 3 references were not removed',
    ]);

    const usage = await runCli(['rm', `${ctx.reg.host}/${repo}`]);
    expect(usage.code).toBe(2);
  });
});

describe('regctl rm where the registry has deletes disabled', () => {
  const ctx = useRegistry('memory', { deleteEnabled: false });

  it('says why and what to change, for a tag and for a digest, and exits non-zero', async () => {
    const { repo, image } = await seeded(ctx.http, ['a']);
    const cli = await runCli(['rm', `${ctx.reg.host}/${repo}:a`]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toBe(
      `regctl: cannot remove ${ctx.reg.host}/${repo}:a: the registry has deletes disabled (405 UNSUPPORTED): for the CNCF registry set ` +
        'storage.delete.enabled: true (REGISTRY_STORAGE_DELETE_ENABLED=true); for regctl serve drop --no-delete\n',
    );
    const { deps } = await testDeps();
    const result = await runRm([`${ctx.reg.host}/${repo}@${image.manifest.digest}`], {}, deps);
    expect(result.results[0]).toMatchObject({ exitCode: 1, error: expect.stringContaining('drop --no-delete') });
    expect((await ctx.http.head(manifestPath(repo, 'a'))).status).toBe(200);
  });
});

describe('regctl rm on a read-only registry', () => {
  const ctx = useRegistry('memory', { readOnly: true });

  it('names read-only mode, not the delete setting', async () => {
    const repo = uniqueRepo('rm');
    await seedImage(ctx.reg.driver, repo, 'a', buildImage());
    const { deps } = await testDeps();
    const [outcome] = (await runRm([`${ctx.reg.host}/${repo}:a`], {}, deps)).results;
    expect(outcome).toEqual({
      reference: `${ctx.reg.host}/${repo}:a`,
      error: `cannot remove ${ctx.reg.host}/${repo}:a: the registry is read-only (405): for the CNCF registry set storage.maintenance.readonly.enabled: false; for regctl serve drop --read-only`,
      exitCode: 1,
    });
  });
});

describe.runIf(interopGate('regctl rm against the CNCF registry', ['docker-registry']))('regctl rm against the CNCF registry', () => {
  let root: string;
  let cncf: Awaited<ReturnType<typeof startCncfRegistry>>;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'regctl-rm-cncf-'));
    cncf = await startCncfRegistry({ root });
  });
  afterAll(async () => {
    await cncf?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('cannot untag there: explains that the digest goes with all its tags, and names the command', async () => {
    const repo = uniqueRepo('rm');
    const image = buildImage();
    const client = await connect(cncf.host, 'http');
    try {
      for (const blob of image.blobs) await client.pushBlob(repo, blob.digest, blob.size, () => Readable.from([blob.data]));
      await client.putManifest(repo, 'a', image.manifest.body, image.manifest.mediaType);
    } finally {
      await client.close();
    }
    const byDigest = `${cncf.host}/${repo}@${image.manifest.digest}`;
    const untag = await runCli(['rm', `${cncf.host}/${repo}:a`]);
    expect(untag).toMatchObject({ code: 1, stdout: '' });
    expect(untag.stderr).toBe(
      `regctl: cannot untag ${cncf.host}/${repo}:a: ${cncf.host} deletes manifests only by digest, and deleting ` +
        `${image.manifest.digest} removes every tag that points at it; if that is what you want: regctl rm ${byDigest}\n`,
    );
    const del = await runCli(['rm', byDigest]);
    expect(del).toMatchObject({ code: 0, stdout: `deleted ${byDigest}\n` });
  });
});
