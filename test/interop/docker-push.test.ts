// regctl push / pull / images through a real dockerd against regctl's own registry, and archives the engine saves and loads.
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImagesResult } from '../../src/commands/images.js';
import type { PullResult, PushResult } from '../../src/commands/push.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { buildScratchImage, imageId } from '../helpers/images.js';
import { INTEROP_TIMEOUT_MS, interopGate, run, tempDir } from '../helpers/interop.js';
import { startRegistry, type TestRegistry } from '../helpers/server.js';

const ready = interopGate('regctl push/pull suite', ['docker']);

function regctl(...args: string[]): Promise<CliResult> {
  return runCli(args, { timeoutMs: INTEROP_TIMEOUT_MS - 5_000 });
}

function json<T>(result: CliResult): T {
  expect(result.stderr, 'stderr with --json').toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as T;
}

/** A loopback port with nothing listening: bound, then released. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.runIf(ready)('regctl push, pull and images through dockerd', { timeout: INTEROP_TIMEOUT_MS }, () => {
  // Unique per run: the engine outlives the suite and may hold images from earlier runs.
  const name = `regctl-push/scratch-${randomBytes(4).toString('hex')}`;
  let registry: TestRegistry;
  let id: string;

  beforeAll(async () => {
    registry = await startRegistry();
    id = await buildScratchImage(`${name}:built`, { layers: 3 });
  }, INTEROP_TIMEOUT_MS);

  afterAll(async () => {
    // By ID: drops every tag this suite gave the image, whichever step it reached.
    if (id) await run('docker', ['rmi', '--force', id]);
    await registry?.close();
  }, INTEROP_TIMEOUT_MS);

  it('pushes, proves the registry has it, and pulls it back with the same image ID', async () => {
    const pushed = json<PushResult>(await regctl('push', `${name}:built`, '--registry', registry.host, '--json'));
    expect(pushed.registry).toBe(registry.host);
    const [image] = pushed.pushed;
    expect(image).toMatchObject({ source: `${name}:built`, reference: `${registry.host}/${name}:built`, id, layers: { transferred: 3, existing: 0 } });
    const served = await regctl('digest', image!.reference);
    expect(served.stdout.trim(), served.stderr).toBe(image!.digest);
    const repoDigests = await run('docker', ['image', 'inspect', '--format', '{{json .RepoDigests}}', id]);
    expect(JSON.parse(repoDigests)).toContain(`${registry.host}/${name}@${image!.digest}`);

    await run('docker', ['rmi', `${name}:built`, image!.reference]);
    await expect(imageId(image!.reference), 'the image is still in the engine after docker rmi').rejects.toThrow();

    const pulled = json<PullResult>(await regctl('pull', image!.reference, '--json'));
    expect(pulled).toEqual({ reference: image!.reference, digest: image!.digest, id, layers: { transferred: 3, existing: 0 } });
    expect(await imageId(image!.reference)).toBe(id);
  });

  it('pushes again with every layer already there: one human line, and a summary on piped stderr', async () => {
    await run('docker', ['tag', id, `${name}:built`]);
    const again = await regctl('push', `${name}:built`, '--registry', registry.host);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`^pushed ${registry.host}/${name}:built sha256:[0-9a-f]{64} \\(layers: 0 uploaded, 3 already there\\)\\n$`));
    // Not a terminal: the title, at most a line per interval, and the totals; no escape codes, no line per layer.
    const title = `pushing ${name}:built to ${registry.host}/${name}:built`;
    const lines = again.stderr.split('\n');
    expect(lines[0]).toBe(title);
    expect(lines.at(-2)).toBe(`${title}: 3/3 layers`);
    expect(lines.at(-1)).toBe('');
    expect(again.stderr).not.toContain('\x1b');
    expect(lines.slice(1, -1).every((line) => line.startsWith(`${title}: `))).toBe(true);
  });

  it('pushes under another name with --as, and every tag with --all-tags', async () => {
    const renamed = json<PushResult>(await regctl('push', `${name}:built`, '--as', `${name}-copy:v9`, '--registry', registry.host, '--json'));
    expect(renamed.pushed.map((p) => p.reference)).toEqual([`${registry.host}/${name}-copy:v9`]);

    await run('docker', ['tag', id, `${name}:a`]);
    await run('docker', ['tag', id, `${name}:b`]);
    const all = json<PushResult>(await regctl('push', name, '--all-tags', '--registry', registry.host, '--json'));
    expect(all.pushed.map((p) => p.reference)).toEqual(['a', 'b', 'built'].map((t) => `${registry.host}/${name}:${t}`));
    expect(new Set(all.pushed.map((p) => p.digest)).size).toBe(1);
  });

  it('lists engine images and marks which the registry has', async () => {
    await run('docker', ['tag', id, `${name}:local-only`]);
    const listed = json<ImagesResult>(await regctl('images', '--registry', registry.host, '--json'));
    const mine = new Map(listed.images.filter((i) => i.name.startsWith(`${name}:`)).map((i) => [i.name, i]));
    expect(mine.get(`${name}:built`)).toMatchObject({ id, remote: `${registry.host}/${name}:built`, current: true });
    expect(mine.get(`${name}:built`)?.registryDigest).toMatch(/^sha256:/);
    expect(mine.get(`${name}:local-only`)).toMatchObject({ id, current: false });
    expect(mine.get(`${name}:local-only`)?.registryDigest).toBeUndefined();

    const table = await regctl('images', '--registry', registry.host);
    expect(table.stdout).toMatch(new RegExp(`^${name}:built +${id.slice(7, 19)} +\\S+ \\S+ +yes$`, 'm'));
    expect(table.stdout).toMatch(new RegExp(`^${name}:local-only +${id.slice(7, 19)} +\\S+ \\S+ +no$`, 'm'));
  });

  it('says nothing is listening, and offers regctl serve, for a port without a registry (exit 5)', async () => {
    const port = await freePort();
    const result = await regctl('push', `${name}:built`, '--registry', `127.0.0.1:${port}`);
    expect(result.stderr).toBe(`regctl: nothing is listening at 127.0.0.1:${port}: start a registry with \`regctl serve\`\n`);
    expect(result.code).toBe(5);
  });

  it('explains insecure-registries before asking the engine to use plain HTTP to another host', async () => {
    // TEST-NET-1: never contacted, the refusal comes from the engine's settings alone.
    const result = await regctl('push', `${name}:built`, '--registry', 'http://192.0.2.1:5000');
    expect(result.stderr).toMatch(/^regctl: the Docker engine will not talk plain HTTP to 192\.0\.2\.1:5000: add it to "insecure-registries"/);
    expect(result.code).toBe(1);
  });

  it('names a local image that does not exist (exit 3) before pushing anything', async () => {
    const result = await regctl('push', `${name}:built`, `${name}:nope`, '--registry', registry.host, '--json');
    expect(result.stderr).toBe(`regctl: no image "${name}:nope" in the Docker engine (docker images lists them)\n`);
    expect(result.code).toBe(3);
  });

  it('round-trips docker save → push --archive → pull --archive → docker load with the same image ID', async () => {
    const dir = await tempDir('docker-archive');
    try {
      const saved = join(dir.path, 'saved.tar');
      await run('docker', ['save', '--output', saved, id]);
      const ref = `${registry.host}/${name}-archive:v1`;
      const pushed = json<PushResult>(await regctl('push', '--archive', saved, ref, '--json'));
      expect(pushed.pushed[0]).toMatchObject({ reference: ref, id });

      const pulled = join(dir.path, 'pulled.tar');
      json<PullResult>(await regctl('pull', '--archive', pulled, ref, '--json'));
      const loaded = await run('docker', ['load', '--input', pulled]);
      expect(loaded).toContain(`Loaded image: ${ref}`);
      expect(await imageId(ref)).toBe(id);
    } finally {
      await dir.remove();
    }
  });

  it('fails a push whose progress stream ends in an error event, with the engine message', async () => {
    const readOnly = await startRegistry({ readOnly: true });
    try {
      const result = await regctl('push', `${name}:built`, '--as', `${name}-refused:v1`, '--registry', readOnly.host);
      expect(result.stderr).toMatch(new RegExp(`^pushing ${name}:built to ${readOnly.host}/${name}-refused:v1\\n(.*\\n)*regctl: the engine reported: .+\\n$`));
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
    } finally {
      await readOnly.close();
    }
  });
});
