// skopeo, a client independent of ours, pushes to and pulls from each registry target.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_KINDS, MANIFEST_TYPES, expectServed, skopeoPush, skopeoTags, writeLocal, type Fixture } from '../helpers/images.js';
import { INTEROP_TIMEOUT_MS, TARGETS, interopGate, skopeo, tempDir, type RunningRegistry, type TempDir } from '../helpers/interop.js';

// Targets are gated only once skopeo is there, so a missing skopeo is reported once, not per target.
const ready = interopGate('skopeo suite', ['skopeo']);

describe.runIf(ready)('skopeo interop', () => {
  for (const target of TARGETS) {
    const runs = ready && interopGate(`skopeo suite against the ${target.name}`, target.tools);
    describe.runIf(runs)(`against the ${target.name}`, { timeout: INTEROP_TIMEOUT_MS }, () => {
      let work: TempDir;
      let registry: RunningRegistry;
      let source: string;
      const fixtures = new Map<string, Fixture>();
      const remote = (path: string) => `docker://${registry.host}/${path}`;

      beforeAll(async () => {
        work = await tempDir('skopeo');
        source = `${work.path}/source`;
        for (const kind of FIXTURE_KINDS) {
          const fixture = await kind.build();
          fixtures.set(kind.ref, fixture);
          await writeLocal(source, kind.ref, fixture);
        }
        registry = await target.start();
      }, INTEROP_TIMEOUT_MS);

      afterAll(async () => {
        await registry?.stop();
        await work?.remove();
      }, INTEROP_TIMEOUT_MS);

      it.each(FIXTURE_KINDS)('copies a $name in and back out with the same digests', async ({ ref }) => {
        const fixture = fixtures.get(ref)!;
        await skopeoPush(fixture, source, ref, remote(`interop/${ref}:v1`));
        await expectServed(remote(`interop/${ref}:v1`), fixture, `${work.path}/back`, ref);
      });

      it('lists tags', async () => {
        for (const tag of ['v2', 'latest', '1.0']) {
          await skopeoPush(fixtures.get('oci-image')!, source, 'oci-image', remote(`interop/tags:${tag}`));
        }
        expect(await skopeoTags(registry.host, 'interop/tags')).toEqual(['1.0', 'latest', 'v2']);
      });

      it('deletes a manifest so that it is gone by digest and by tag', async () => {
        const fixture = fixtures.get('oci-image')!;
        await skopeoPush(fixture, source, 'oci-image', remote('interop/delete:v1'));
        await skopeo('delete', '--tls-verify=false', remote('interop/delete:v1'));

        for (const reference of [fixture.top.digest, 'v1']) {
          const res = await fetch(`${registry.url}/v2/interop/delete/manifests/${reference}`, {
            headers: { accept: MANIFEST_TYPES.join(', ') },
          });
          await res.arrayBuffer();
          expect(res.status, `GET /v2/interop/delete/manifests/${reference} after skopeo delete`).toBe(404);
        }
      });
    });
  }
});
