import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, randomBlob } from '../helpers/fixtures.js';
import { runCli, startServeProcess } from '../helpers/cli.js';
import { pushBlob, pushImage, RegistryHttp } from '../helpers/http.js';
import { startRegistry } from '../helpers/server.js';
import { runProgram, testDeps } from './helpers.js';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'regctl-gc-cli-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A root holding one tagged image and one loose blob, written by a server that is stopped again. */
async function seededRoot(name: string): Promise<{ root: string; loose: string; image: ReturnType<typeof buildImage> }> {
  const root = join(scratch, name);
  const reg = await startRegistry({ root });
  const http = new RegistryHttp(reg.url);
  const image = buildImage();
  const loose = randomBlob(500);
  await pushImage(http, 'app', image, 'v1');
  await pushBlob(http, 'junk', loose);
  await http.close();
  await reg.close();
  return { root, loose: loose.digest, image };
}

describe('regctl gc', () => {
  it('--dry-run reports the loose blob and removes nothing; a real run removes it', async () => {
    const { root, loose } = await seededRoot('dry');
    const dry = await runCli(['gc', '--root', root, '--grace', '0', '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    const report = JSON.parse(dry.stdout).report;
    expect(report.removed.blobs.map((b: { digest: string }) => b.digest)).toEqual([loose]);
    const hex = loose.slice(7);
    await stat(join(root, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data'));

    const real = await runCli(['gc', '--root', root, '--grace', '0']);
    expect(real.code).toBe(0);
    expect(real.stdout).toContain('removed: 0 manifests, 1 blobs (500 B)');
    expect(real.stdout).toMatch(/junk\s+0\s+1\s+500 B/);
    await expect(stat(join(root, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex))).rejects.toThrow();
  });

  it('says why unreferenced blobs stay, and explains what keeps a layer', async () => {
    const { root, loose, image } = await seededRoot('explain');
    const layer = image.blobs[1]!.digest;
    const result = await runCli(['gc', '--root', root, '--dry-run', '--explain', layer, '--explain', loose]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`${loose}`);
    expect(result.stdout).toContain('written within the grace period');
    expect(result.stdout).toContain(`app:v1 → ${image.manifest.digest} → ${layer}`);
  });

  it('collects through a regctl serve running on the root, not behind its back', async () => {
    const { root, loose } = await seededRoot('online');
    const server = await startServeProcess(['--addr', '127.0.0.1:0', '--root', root, '--log-level', 'error']);
    try {
      const result = await runCli(['gc', '--root', root, '--grace', '0']);
      expect(result.code).toBe(0);
      expect(result.stderr).toContain(`regctl serve (pid ${server.child.pid}) is serving ${root}: collecting through it at ${server.url}`);
      expect(result.stdout).toContain(`Garbage collection of ${server.url}`);
      const res = await fetch(`${server.url}/v2/junk/blobs/${loose}`, { method: 'HEAD' });
      expect(res.status).toBe(404);
    } finally {
      await server.stop();
    }
    // Once the server is gone, gc works on the root directly again.
    const offline = await runCli(['gc', '--root', root, '--dry-run']);
    expect(offline.stdout).toContain(`Garbage collection (dry run) of ${root}`);
  });

  it('goes through a serve with --tls and --htpasswd: its CA found through the marker, credentials from the environment', async () => {
    const { root, loose } = await seededRoot('secured');
    const env = { REGCTL_CONFIG_DIR: join(scratch, 'secured-config') };
    expect((await runCli(['tls', 'init'], { env })).code).toBe(0);
    const htpasswd = join(scratch, 'secured-htpasswd');
    expect((await runCli(['user', 'add', 'admin', '--password-stdin', '--htpasswd', htpasswd], { env, input: 's3cret-pass' })).code).toBe(0);
    const server = await startServeProcess(['--addr', '127.0.0.1:0', '--root', root, '--tls', '--htpasswd', htpasswd, '--log-level', 'error'], env);
    try {
      expect(server.url).toMatch(/^https:/);
      const anonymous = await runCli(['gc', '--root', root, '--grace', '0', '--dry-run'], { env });
      expect(anonymous.code).toBe(4);
      // A login command that works: the serve speaks HTTPS on loopback with the CA of `regctl tls init`.
      expect(anonymous.stderr).toContain(`run \`regctl login ${server.url} --ca-file ${join(env.REGCTL_CONFIG_DIR, 'tls', 'ca.crt')}\``);
      const result = await runCli(['gc', '--root', root, '--grace', '0', '--json'], {
        env: { ...env, REGCTL_USERNAME: 'admin', REGCTL_PASSWORD: 's3cret-pass' },
      });
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout).report.removed.blobs.map((b: { digest: string }) => b.digest)).toEqual([loose]);
    } finally {
      await server.stop();
    }
  });

  it('--registry runs inside the named server; read-only servers allow only dry runs', async () => {
    const { root } = await seededRoot('readonly');
    const server = await startServeProcess(['--addr', '127.0.0.1:0', '--root', root, '--read-only', '--log-level', 'error']);
    try {
      const dry = await runCli(['gc', '--registry', server.url, '--dry-run', '--grace', '0', '--json']);
      expect(dry.code).toBe(0);
      expect(JSON.parse(dry.stdout).report.summary.blobsRemoved).toBe(1);
      // host:port as every other command takes it: loopback speaks plain HTTP by default.
      const port = new URL(server.url).port;
      for (const registry of [`127.0.0.1:${port}`, `localhost:${port}`]) {
        const byHost = await runCli(['gc', '--registry', registry, '--dry-run', '--grace', '0', '--json']);
        expect(byHost.stderr).toBe('');
        expect(JSON.parse(byHost.stdout)).toMatchObject({ target: `http://${registry}`, report: { summary: { blobsRemoved: 1 } } });
      }
      const real = await runCli(['gc', '--registry', server.url, '--grace', '0']);
      expect(real.code).toBe(1);
      expect(real.stderr).toMatch(/^regctl: the registry is in read-only mode; only a dry run is possible \(UNSUPPORTED\)/);
    } finally {
      await server.stop();
    }
  });

  it('asks before deleting on a terminal, and does nothing when told no', async () => {
    const { root, loose } = await seededRoot('prompt');
    const t = await testDeps({ tty: true });
    const answering = runProgram(t, ['gc', '--root', root, '--grace', '0']);
    // Answer "no" once the question is on the screen.
    for (let i = 0; i < 200 && !t.stderr().includes('Delete 1 blobs and 0 manifests now?'); i++) await new Promise((r) => setTimeout(r, 20));
    t.deps.stdin.push('n\n');
    expect(await answering).toMatchObject({ message: 'garbage collection cancelled; nothing was removed' });
    expect(t.stderr()).toContain('would remove: 0 manifests, 1 blobs (500 B)');
    const hex = loose.slice(7);
    await stat(join(root, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data'));
  });

  it.each([
    [['gc', '--grace', 'soon'], /^regctl: --grace: invalid duration "soon"/],
    [['gc', '--explain', 'abc'], /^regctl: --explain needs a digest/],
    [['gc', '--root', '/x', '--registry', 'http://127.0.0.1:1'], /^regctl: --root and --registry exclude each other/],
    [['gc', '--registry', 'http://127.0.0.1:1/path'], /^regctl: --registry takes host:port or http\(s\):\/\/host:port, got "http:\/\/127\.0\.0\.1:1\/path"/],
  ])('bad usage %j exits 2', async (args, message) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});

describe('regctl du', () => {
  it('splits each repository into bytes only it holds and bytes it shares', async () => {
    const root = join(scratch, 'du');
    const reg = await startRegistry({ root });
    const http = new RegistryHttp(reg.url);
    const shared = randomBlob(1000);
    const own = randomBlob(300);
    await pushBlob(http, 'a', shared);
    await pushBlob(http, 'a', own);
    await pushBlob(http, 'b', shared);
    await http.close();
    await reg.close();

    const result = await runCli(['du', '--root', root, '--json']);
    const usage = JSON.parse(result.stdout);
    expect(usage.repositories).toEqual([
      { name: 'a', uniqueBytes: 300, sharedBytes: 1000, blobs: 2 },
      { name: 'b', uniqueBytes: 0, sharedBytes: 1000, blobs: 1 },
    ]);
    expect(usage.storeBytes).toBe(1300);
    const one = await runCli(['du', 'b', '--root', root]);
    expect(one.stdout).toMatch(/^REPOSITORY\s+UNIQUE\s+SHARED\s+TOTAL\s+BLOBS\nb\s+0 B\s+1\.0 kB\s+1\.0 kB\s+1/);
    expect((await runCli(['du', 'nope', '--root', root])).code).toBe(3);
  });
});

