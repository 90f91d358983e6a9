// regctl as a pull-through cache of the CNCF registry, pulled through with skopeo; then the CNCF
// registry serving and garbage-collecting the tree the cache wrote.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCncfRegistry } from '../helpers/cncf-registry.js';
import { FIXTURE_KINDS, expectServed, skopeoPush, writeLocal, type Fixture } from '../helpers/images.js';
import { INTEROP_TIMEOUT_MS, interopGate, run, skopeo, tempDir, type TempDir } from '../helpers/interop.js';
import { startProxy, type TestProxy } from '../registry/proxy-harness.js';

const ready = interopGate('pull-through cache of the CNCF registry', ['docker-registry', 'skopeo']);
const TTL = 60_000;

describe.runIf(ready)('regctl as a pull-through cache of the CNCF registry', { timeout: INTEROP_TIMEOUT_MS }, () => {
  let work: TempDir;
  let upstream: Awaited<ReturnType<typeof startCncfRegistry>>;
  let proxy: TestProxy;
  const fixtures = new Map<string, Fixture>();
  const via = (ref: string): string => `docker://${new URL(proxy.url).host}/cncf.local/interop/${ref}:v1`;

  beforeAll(async () => {
    work = await tempDir('proxy-cncf');
    upstream = await startCncfRegistry({ root: join(work.path, 'upstream') });
    proxy = await startProxy([{ prefix: 'cncf.local', remoteUrl: upstream.url, ttlMs: TTL }]);
    for (const kind of FIXTURE_KINDS) {
      const fixture = await kind.build();
      fixtures.set(kind.ref, fixture);
      await writeLocal(join(work.path, 'src'), kind.ref, fixture);
      await skopeoPush(fixture, join(work.path, 'src'), kind.ref, `docker://${upstream.host}/interop/${kind.ref}:v1`);
    }
  }, INTEROP_TIMEOUT_MS);

  afterAll(async () => {
    await proxy?.close();
    await upstream?.stop();
    await work?.remove();
  });

  for (const kind of FIXTURE_KINDS) {
    it(`skopeo pulls a ${kind.name} through the cache byte for byte`, async () => {
      await expectServed(via(kind.ref), fixtures.get(kind.ref)!, join(work.path, 'first'), kind.ref);
    });
  }

  it('the CNCF registry serves the tree the cache wrote, and its garbage collector keeps every cached blob', async () => {
    const config = join(work.path, 'cncf-gc.yml');
    await writeFile(config, `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${proxy.root}\n  delete:\n    enabled: true\n`);
    const gc = await run('docker-registry', ['garbage-collect', '--dry-run', config]);
    expect(gc).not.toMatch(/blob eligible for deletion/);
    const reader = await startCncfRegistry({ root: proxy.root, readOnly: true });
    try {
      const [kind] = FIXTURE_KINDS;
      await expectServed(`docker://${reader.host}/cncf.local/interop/${kind!.ref}:v1`, fixtures.get(kind!.ref)!, join(work.path, 'cncf-read'), kind!.ref);
    } finally {
      await reader.stop();
    }
  });

  it('keeps serving what it cached when the CNCF registry is down', async () => {
    await upstream.stop();
    proxy.advance(TTL + 1);
    for (const kind of FIXTURE_KINDS) await expectServed(via(kind.ref), fixtures.get(kind.ref)!, join(work.path, 'offline'), kind.ref);
    await expect(skopeo('inspect', '--raw', '--tls-verify=false', via('never-pulled'))).rejects.toThrow(/unavailable|503/i);
  });
});
