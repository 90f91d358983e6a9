import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../helpers/fixtures.js';
import { RegistryHttp } from '../helpers/http.js';
import { startRegistry } from '../helpers/server.js';

// A restart loses everything in memory (running hashes, caches): the store on disk must be enough.
describe('upload resumed after a server restart', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'regctl-restart-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('continues from the status the new process reports, and the blob verifies', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const cut = 1024 * 1024 + 5;

    const first = await startRegistry({ root });
    const http1 = new RegistryHttp(first.url);
    const started = await http1.send('POST', '/v2/resume/me/blobs/uploads/');
    expect(started.status).toBe(202);
    const location = http1.location(started);
    const chunk1 = await http1.send('PATCH', location, {
      body: data.subarray(0, cut),
      headers: { 'content-type': 'application/octet-stream', 'content-range': `0-${cut - 1}` },
    });
    expect(chunk1.status).toBe(202);
    await http1.close();
    await first.close();

    const second = await startRegistry({ root });
    const http2 = new RegistryHttp(second.url);
    try {
      const status = await http2.get(location);
      expect(status.status).toBe(204);
      expect(status.headers.range).toBe(`0-${cut - 1}`);
      const offset = Number(status.headers.range!.split('-')[1]) + 1;
      const chunk2 = await http2.send('PATCH', location, {
        body: data.subarray(offset),
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${data.length - 1}` },
      });
      expect(chunk2.status).toBe(202);
      const digest = sha256(data);
      const done = await http2.send('PUT', `${location}${location.includes('?') ? '&' : '?'}digest=${digest}`);
      expect(done.status).toBe(201);
      const blob = await http2.get(`/v2/resume/me/blobs/${digest}`);
      expect(blob.status).toBe(200);
      expect(sha256(blob.body)).toBe(digest);
    } finally {
      await http2.close();
      await second.close();
    }
  });
});
