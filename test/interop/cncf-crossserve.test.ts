// One storage root served by both servers: what either one writes, the other serves unchanged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_KINDS, expectServed, skopeoPush, skopeoTags, writeLocal, type Fixture } from '../helpers/images.js';
import { CNCF, INTEROP_TIMEOUT_MS, REGCTL, interopGate, tempDir, type RunningRegistry, type TempDir } from '../helpers/interop.js';

const DIRECTIONS = [
  { writer: REGCTL, reader: CNCF },
  { writer: CNCF, reader: REGCTL },
];
const TAGS = ['latest', 'v1', 'v2'];

const ready = interopGate('CNCF cross-serve suite', ['skopeo', 'docker-registry']);

describe.runIf(ready)('one root served by regctl and the CNCF registry', () => {
  for (const { writer, reader } of DIRECTIONS) {
    describe(`written by the ${writer.name}, served by the ${reader.name}`, { timeout: INTEROP_TIMEOUT_MS }, () => {
      let work: TempDir;
      let running: RunningRegistry | undefined;
      let host: string;
      const fixtures = new Map<string, Fixture>();

      beforeAll(async () => {
        work = await tempDir('crossserve');
        const root = `${work.path}/root`;
        const source = `${work.path}/source`;
        running = await writer.start(root);
        for (const kind of FIXTURE_KINDS) {
          const fixture = await kind.build();
          fixtures.set(kind.ref, fixture);
          await writeLocal(source, kind.ref, fixture);
          for (const tag of TAGS) await skopeoPush(fixture, source, kind.ref, `docker://${running.host}/cross/${kind.ref}:${tag}`);
        }
        await running.stop();
        running = await reader.start(root);
        host = running.host;
      }, INTEROP_TIMEOUT_MS);

      afterAll(async () => {
        await running?.stop();
        await work?.remove();
      }, INTEROP_TIMEOUT_MS);

      it.each(FIXTURE_KINDS)('serves the $name with the same digests', async ({ ref }) => {
        await expectServed(`docker://${host}/cross/${ref}:v1`, fixtures.get(ref)!, `${work.path}/back`, ref);
      });

      it('lists the tags and the catalog', async () => {
        for (const { ref } of FIXTURE_KINDS) expect(await skopeoTags(host, `cross/${ref}`)).toEqual(TAGS);
        const res = await fetch(`http://${host}/v2/_catalog`);
        expect(res.status).toBe(200);
        const { repositories } = (await res.json()) as { repositories: string[] };
        expect(repositories).toEqual(FIXTURE_KINDS.map((k) => `cross/${k.ref}`).sort());
      });
    });
  }
});
