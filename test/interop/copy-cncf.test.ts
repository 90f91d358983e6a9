// `regctl copy` between the CNCF registry and regctl serve, both ways, every fixture shape.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { FIXTURE_KINDS, expectServed, skopeoPush, writeLocal, type Fixture } from '../helpers/images.js';
import { CNCF, INTEROP_TIMEOUT_MS, REGCTL, interopGate, tempDir, type RunningRegistry, type TempDir } from '../helpers/interop.js';

const ready = interopGate('regctl copy with the CNCF registry', ['skopeo', 'docker-registry']);

describe.runIf(ready)('regctl copy between the CNCF registry and regctl serve', { timeout: INTEROP_TIMEOUT_MS }, () => {
  let work: TempDir;
  let cncf: RunningRegistry;
  let regctl: RunningRegistry;
  const fixtures = new Map<string, Fixture>();

  beforeAll(async () => {
    work = await tempDir('copy-cncf');
    [cncf, regctl] = await Promise.all([CNCF.start(), REGCTL.start()]);
    for (const kind of FIXTURE_KINDS) {
      const fixture = await kind.build();
      fixtures.set(kind.ref, fixture);
      await writeLocal(`${work.path}/source`, kind.ref, fixture);
    }
  }, INTEROP_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all([cncf?.stop(), regctl?.stop()]);
    await work?.remove();
  });

  for (const [from, to] of [
    ['cncf', 'regctl'],
    ['regctl', 'cncf'],
  ] as const) {
    for (const kind of FIXTURE_KINDS) {
      it(`${kind.name}: ${from} → ${to}, digests unchanged`, async () => {
        const source = from === 'cncf' ? cncf : regctl;
        const destination = to === 'cncf' ? cncf : regctl;
        const fixture = fixtures.get(kind.ref)!;
        await skopeoPush(fixture, `${work.path}/source`, kind.ref, `docker://${source.host}/src-${from}/${kind.ref}:v1`);
        const result = await runCli(['copy', '--json', `${source.host}/src-${from}/${kind.ref}:v1`, `${destination.host}/dst-${from}/${kind.ref}`]);
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        expect(JSON.parse(result.stdout)).toMatchObject({ digest: fixture.top.digest, destination: `${destination.host}/dst-${from}/${kind.ref}:v1` });
        await expectServed(`docker://${destination.host}/dst-${from}/${kind.ref}:v1`, fixture, `${work.path}/pulled-${from}`, kind.ref);
      });
    }
  }
});
