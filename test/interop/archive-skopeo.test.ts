// An OCI image layout written by skopeo, pushed with regctl push --archive: the manifest arrives byte for byte.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PushResult } from '../../src/commands/push.js';
import { runCli } from '../helpers/cli.js';
import { buildImageFixture, writeLocal, skopeoPush } from '../helpers/images.js';
import { INTEROP_TIMEOUT_MS, interopGate, skopeo, tempDir, type TempDir } from '../helpers/interop.js';
import { startRegistry, type TestRegistry } from '../helpers/server.js';

describe.runIf(interopGate('push --archive of a skopeo OCI layout', ['skopeo']))('push --archive of a skopeo OCI layout', { timeout: INTEROP_TIMEOUT_MS }, () => {
  let registry: TestRegistry;
  let dir: TempDir;

  beforeAll(async () => {
    registry = await startRegistry();
    dir = await tempDir('skopeo-layout');
  });
  afterAll(async () => {
    await registry?.close();
    await dir?.remove();
  });

  it('pushes the layout skopeo wrote, with the same manifest digest', async () => {
    const fixture = await buildImageFixture({ format: 'oci', layers: 3 });
    await writeLocal(join(dir.path, 'source'), 'src', fixture);
    await skopeoPush(fixture, join(dir.path, 'source'), 'src', `docker://${registry.host}/skopeo/source:v1`);
    const layout = join(dir.path, 'by-skopeo');
    await skopeo('copy', '--preserve-digests', '--src-tls-verify=false', `docker://${registry.host}/skopeo/source:v1`, `oci:${layout}:v1`);

    const result = await runCli(['push', '--archive', layout, `${registry.host}/skopeo/pushed:v1`, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const pushed = JSON.parse(result.stdout) as PushResult;
    expect(pushed.pushed[0]).toMatchObject({ reference: `${registry.host}/skopeo/pushed:v1`, digest: fixture.top.digest, layers: { transferred: 3, existing: 0 } });
  });
});
