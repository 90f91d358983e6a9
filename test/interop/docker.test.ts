// The docker CLI, through a real dockerd, pushes to and pulls from each registry target.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildScratchImage, imageId } from '../helpers/images.js';
import { INTEROP_TIMEOUT_MS, TARGETS, interopGate, run, type RunningRegistry } from '../helpers/interop.js';

// Targets are gated only once dockerd answers, so a missing engine is reported once, not per target.
const ready = interopGate('docker suite', ['docker']);

describe.runIf(ready)('docker CLI interop', () => {
  for (const target of TARGETS) {
    const runs = ready && interopGate(`docker suite against the ${target.name}`, target.tools);
    describe.runIf(runs)(`against the ${target.name}`, { timeout: INTEROP_TIMEOUT_MS }, () => {
      // Unique per run: the engine outlives the suite and may hold images from earlier runs.
      const name = `regctl-interop/scratch-${randomBytes(4).toString('hex')}`;
      let registry: RunningRegistry;
      let id: string | undefined;

      beforeAll(async () => {
        registry = await target.start();
      }, INTEROP_TIMEOUT_MS);

      afterAll(async () => {
        // By ID: drops every tag this suite gave the image, whichever step it reached.
        if (id) await run('docker', ['rmi', '--force', id]);
        await registry?.stop();
      }, INTEROP_TIMEOUT_MS);

      it('pushes an image built FROM scratch, removes it, pulls it back with the same image ID', async () => {
        id = await buildScratchImage(`${name}:built`);
        const remote = `${registry.host}/${name}:v1`;
        await run('docker', ['tag', id, remote]);
        const pushed = await run('docker', ['push', remote]);
        const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed)?.[1];
        expect(digest, `docker push output: ${pushed}`).toBeDefined();

        await run('docker', ['rmi', `${name}:built`, remote]);
        await expect(imageId(remote), 'the image is still in the engine after docker rmi').rejects.toThrow();

        await run('docker', ['pull', remote]);
        expect(await imageId(remote)).toBe(id);
        const repoDigests = await run('docker', ['image', 'inspect', '--format', '{{json .RepoDigests}}', remote]);
        expect(JSON.parse(repoDigests)).toContain(`${registry.host}/${name}@${digest}`);
      });
    });
  }
});
