import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startServeProcess } from '../helpers/cli.js';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'regctl-cli-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function pushBlob(url: string, repo: string, content: Buffer): Promise<string> {
  const { createHash } = await import('node:crypto');
  const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
  const res = await request(`${url}/v2/${repo}/blobs/uploads/?digest=${digest}`, { method: 'POST', body: content });
  await res.body.dump();
  expect(res.statusCode).toBe(201);
  return digest;
}

describe('regctl serve', () => {
  it('--ephemeral prints REGISTRY_URL, serves, and removes its root on SIGTERM', async () => {
    const srv = await startServeProcess(['--ephemeral']);
    const line = srv.stdout().trim();
    expect(line).toBe(`REGISTRY_URL=${srv.url}`);
    const root = /storing in (\S+)/.exec(srv.stderr())![1]!;
    await stat(root);
    const res = await request(`${srv.url}/v2/`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['docker-distribution-api-version']).toBe('registry/2.0');
    await res.body.dump();
    expect(await srv.stop('SIGTERM')).toBe(0);
    await expect(stat(root)).rejects.toThrow();
  });

  it('stores in --root, prints where, and writes the CNCF layout', async () => {
    const root = join(scratch, 'root1');
    const srv = await startServeProcess(['--addr', '127.0.0.1:0', '--root', root]);
    expect(srv.stderr()).toContain(`storing in ${root}`);
    const digest = await pushBlob(srv.url, 'team/app', Buffer.from('layer'));
    const hex = digest.slice('sha256:'.length);
    expect(await readFile(join(root, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data'), 'utf8')).toBe('layer');
    expect(await readFile(join(root, 'docker/registry/v2/repositories/team/app/_layers/sha256', hex, 'link'), 'utf8')).toBe(digest);
    expect(await srv.stop('SIGINT')).toBe(0);
  });

  it('finishes an in-flight upload after SIGTERM, then exits 0', async () => {
    const srv = await startServeProcess(['--ephemeral', '--log-level', 'error']);
    const start = await request(`${srv.url}/v2/slow/blobs/uploads/`, { method: 'POST' });
    await start.body.dump();
    const location = new URL(start.headers.location as string, srv.url).toString();
    const chunk = Buffer.alloc(64 * 1024, 7);
    let sent = 0;
    const body = Readable.from(
      (async function* () {
        for (; sent < 8; sent++) {
          yield chunk;
          await new Promise((r) => setTimeout(r, 50));
        }
      })(),
    );
    const patch = request(location, { method: 'PATCH', body, headers: { 'content-type': 'application/octet-stream' } });
    await new Promise((r) => setTimeout(r, 120));
    srv.child.kill('SIGTERM');
    const res = await patch;
    await res.body.dump();
    expect(res.statusCode).toBe(202);
    expect(res.headers.range).toBe(`0-${8 * chunk.length - 1}`);
    expect(await srv.exited).toBe(0);
  });

  it('--log-format json writes one JSON access line per request', async () => {
    const srv = await startServeProcess(['--ephemeral', '--log-format', 'json']);
    const res = await request(`${srv.url}/v2/nope/manifests/latest`);
    await res.body.dump();
    expect(res.statusCode).toBe(404);
    await srv.stop();
    const lines = srv
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const access = lines.find((l) => l.path === '/v2/nope/manifests/latest');
    expect(access).toMatchObject({ method: 'GET', status: 404, msg: 'request' });
    expect(typeof access!.durationMs).toBe('number');
    expect(typeof access!.bytes).toBe('number');
  });

  it('--read-only refuses pushes with 405 UNSUPPORTED', async () => {
    const srv = await startServeProcess(['--ephemeral', '--read-only']);
    const res = await request(`${srv.url}/v2/x/blobs/uploads/`, { method: 'POST' });
    expect(res.statusCode).toBe(405);
    expect(((await res.body.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('UNSUPPORTED');
    await srv.stop();
  });

  it('--gc-interval collects on a schedule and logs each run', async () => {
    const srv = await startServeProcess(['--ephemeral', '--gc-interval', '200ms']);
    try {
      for (let i = 0; i < 100 && !srv.stderr().includes('garbage collection'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(srv.stderr()).toMatch(/info {2}garbage collection blobsRemoved=0 bytesFreed=0 uploadsRemoved=0 durationMs=\d+/);
    } finally {
      await srv.stop();
    }
  });

  it('a port in use is one clear line and a non-zero exit', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const { port } = blocker.address() as { port: number };
    const result = await runCli(['serve', '--addr', `127.0.0.1:${port}`, '--root', join(scratch, 'busy')]);
    blocker.close();
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^regctl: address 127.0.0.1:${port} is already in use`));
  });

  it('a root that is (or lies under) a file is one line saying so, exit 2', async () => {
    const file = join(scratch, 'not-a-dir');
    await writeFile(file, 'x');
    const under = await runCli(['serve', '--addr', '127.0.0.1:0', '--root', join(file, 'sub')]);
    expect(under.code).toBe(2);
    expect(under.stderr).toBe(`regctl: --root: storage root ${join(file, 'sub')} cannot be made: ${file} is a file, not a directory; choose another directory\n`);
    const itself = await runCli(['serve', '--addr', '127.0.0.1:0', '--root', file]);
    expect(itself.code).toBe(2);
    expect(itself.stderr).toBe(`regctl: --root: storage root ${file} is a file, not a directory; choose a directory\n`);
  });

  // Node 20's recursive mkdir never returns for a path under /proc: serve must fail, not spin.
  it.skipIf(process.platform !== 'linux')('a root that cannot be made under /proc fails at once', async () => {
    const started = Date.now();
    const result = await runCli(['serve', '--addr', '127.0.0.1:0', '--root', '/proc/nope'], { timeoutMs: 10_000 });
    expect(result.signal).toBeNull();
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('regctl: storage root /proc/nope cannot be made (ENOENT); choose another with --root\n');
    expect(Date.now() - started).toBeLessThan(8_000);
  });

  // root ignores mode bits, so only an unprivileged run can see this refusal.
  it.skipIf(process.getuid?.() === 0)('a directory without write permission as root is refused', async () => {
    const dir = join(scratch, 'ro');
    await mkdir(dir);
    await chmod(dir, 0o500);
    const result = await runCli(['serve', '--addr', '127.0.0.1:0', '--root', dir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/is not writable \(EACCES\)/);
  });

  it.each([
    [['serve', '--bogus'], /^regctl: unknown option '--bogus'/],
    [['serve', '--addr', 'nonsense'], /^regctl: invalid address "nonsense"/],
    [['serve', '--log-level', 'loud'], /^regctl: option '--log-level <level>' argument 'loud' is invalid/],
    [['frobnicate'], /^regctl: unknown command 'frobnicate'/],
  ])('bad usage %j exits 2 with a one-line error', async (args, message) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
