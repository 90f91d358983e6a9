// A real client (skopeo) pushes and pulls a multi-platform image; the receiver counts the events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIndexFixture, expectServed, MANIFEST_TYPES, skopeoPush, writeLocal, type Fixture } from '../helpers/images.js';
import { INTEROP_TIMEOUT_MS, interopGate, tempDir, type TempDir } from '../helpers/interop.js';
import { endpoint, startHarness, type Harness } from './harness.js';
import { Receiver } from './receiver.js';

const ready = interopGate('webhooks with skopeo', ['skopeo']);

describe.runIf(ready)('webhooks for a skopeo push and pull', { timeout: INTEROP_TIMEOUT_MS }, () => {
  let work: TempDir;
  let receiver: Receiver;
  let h: Harness;
  let fixture: Fixture;

  beforeAll(async () => {
    work = await tempDir('events');
    fixture = await buildIndexFixture({ format: 'oci' });
    await writeLocal(`${work.path}/source`, 'multi', fixture);
    receiver = await new Receiver().start();
    h = await startHarness([endpoint(receiver.url)]);
  }, INTEROP_TIMEOUT_MS);

  afterAll(async () => {
    await h?.close();
    await receiver?.stop();
    await work?.remove();
  });

  it('one push per blob and manifest, one pull per blob and manifest fetched', async () => {
    const remote = `docker://${h.reg.host}/events/multi:v1`;
    await skopeoPush(fixture, `${work.path}/source`, 'multi', remote);
    const isManifest = (mediaType: string) => MANIFEST_TYPES.includes(mediaType);
    const pushes = fixture.blobs.map((b) => `push ${b.digest} ${b === fixture.top ? 'v1' : '-'} ${isManifest(b.mediaType) ? b.mediaType : 'application/octet-stream'}`);
    await receiver.waitForEvents(pushes.length, 10_000);
    await new Promise((r) => setTimeout(r, 200));
    const seen = () => receiver.events.map((e) => `${e.action} ${e.target.digest} ${e.target.tag ?? '-'} ${e.target.mediaType}`);
    expect(seen().sort()).toEqual(pushes.sort());

    // inspect --raw and copy both GET the index by tag; the copy GETs every child manifest and blob once.
    await expectServed(remote, fixture, `${work.path}/back`, 'multi');
    const pulls = [
      `pull ${fixture.top.digest} v1 ${fixture.top.mediaType}`,
      ...fixture.blobs.map((b) => `pull ${b.digest} ${b === fixture.top ? 'v1' : '-'} ${isManifest(b.mediaType) ? b.mediaType : 'application/octet-stream'}`),
    ];
    await receiver.waitForEvents(pushes.length + pulls.length, 10_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(seen().filter((e) => e.startsWith('pull')).sort()).toEqual(pulls.sort());
    expect(receiver.events.every((e) => e.request.useragent.includes('skopeo') || e.request.useragent.includes('containers'))).toBe(true);
  });
});
