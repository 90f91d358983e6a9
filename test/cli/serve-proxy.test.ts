// `regctl serve --config` with `regctl.proxies`, as a real process in front of a real upstream
// registry: the wiring of the pull-through cache into serve (its behaviour: test/registry/proxy*).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServeProcess } from '../helpers/cli.js';
import { buildImage } from '../helpers/fixtures.js';
import { pushImage, RegistryHttp } from '../helpers/http.js';
import { startRegistry, type TestRegistry } from '../helpers/server.js';
import { writeConfigFile } from './config-file.js';

let scratch: string;
let upstream: TestRegistry;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'regctl-serve-proxy-'));
  upstream = await startRegistry();
});
afterAll(async () => {
  await upstream.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('regctl serve with regctl.proxies', () => {
  it('pulls through from the upstream, serves from cache once it is gone, refuses pushes to proxied names only', async () => {
    const image = buildImage({ layers: 2 });
    const toUpstream = new RegistryHttp(upstream.url);
    await pushImage(toUpstream, 'demo/hello', image, '1.0');
    await toUpstream.close();

    const config = await writeConfigFile(join(scratch, 'proxy.yml'), [
      'version: 0.1',
      'http:',
      '  addr: 127.0.0.1:0',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(scratch, 'cache')}`,
      'regctl:',
      '  proxies:',
      '    - prefix: up.local',
      `      remoteurl: ${upstream.url}`,
      '      recheck: 5m',
    ]);
    const srv = await startServeProcess(['--config', config]);
    const http = new RegistryHttp(srv.url);
    try {
      const pulled = await http.send('GET', '/v2/up.local/demo/hello/manifests/1.0', { headers: { Accept: image.manifest.mediaType } });
      expect(pulled.status).toBe(200);
      expect(pulled.headers['docker-content-digest']).toBe(image.manifest.digest);
      const layer = image.blobs[1]!;
      const blob = await http.send('GET', `/v2/up.local/demo/hello/blobs/${layer.digest}`);
      expect(blob.status).toBe(200);
      expect(blob.body.equals(layer.data)).toBe(true);

      await upstream.close();
      const cached = await http.send('GET', '/v2/up.local/demo/hello/manifests/1.0', { headers: { Accept: image.manifest.mediaType } });
      expect(cached.status).toBe(200);
      expect((await http.send('GET', `/v2/up.local/demo/hello/blobs/${layer.digest}`)).body.equals(layer.data)).toBe(true);

      const refused = await http.send('POST', '/v2/up.local/demo/hello/blobs/uploads/');
      expect(refused.status).toBe(405);
      expect(refused.body.toString()).toContain('UNSUPPORTED');
      await pushImage(http, 'team/hello', buildImage({ layers: 1 }), 'v1');
    } finally {
      await http.close();
      expect(await srv.stop()).toBe(0);
    }
  });
});
