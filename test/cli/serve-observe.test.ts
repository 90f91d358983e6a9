// `regctl serve --config` with notifications and http.debug.addr, as a real process: the wiring of
// webhooks and metrics into serve, end to end (their behaviour is tested in test/events, test/metrics).
import { createHmac } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Receiver } from '../events/receiver.js';
import { startServeProcess } from '../helpers/cli.js';
import { buildImage } from '../helpers/fixtures.js';
import { pushImage, RegistryHttp } from '../helpers/http.js';
import { writeConfigFile } from './config-file.js';

let scratch: string;
let receiver: Receiver;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'regctl-serve-observe-'));
  receiver = await new Receiver().start();
});
afterAll(async () => {
  await receiver.stop();
  await rm(scratch, { recursive: true, force: true });
});

describe('regctl serve with notifications and a debug listener', () => {
  it('delivers signed events for a push, serves /metrics on the debug address, exits 0 on SIGTERM', async () => {
    const config = await writeConfigFile(join(scratch, 'config.yml'), [
      'version: 0.1',
      'http:',
      '  addr: 127.0.0.1:0',
      '  debug:',
      '    addr: 127.0.0.1:0',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(scratch, 'data')}`,
      'notifications:',
      '  endpoints:',
      '    - name: ci',
      `      url: ${receiver.url}`,
      '      timeout: 2s',
      '      threshold: 3',
      '      backoff: 1s',
      '      secret: s3cret',
    ]);
    const srv = await startServeProcess(['--config', config]);
    const http = new RegistryHttp(srv.url);
    try {
      const image = buildImage({ layers: 2 });
      await pushImage(http, 'demo/app', image, 'v1');
      const events = await receiver.waitForEvents(1 + image.blobs.length);
      const manifestPush = events.find((e) => e.action === 'push' && e.target.tag === 'v1');
      expect(manifestPush?.target).toMatchObject({ repository: 'demo/app', digest: image.manifest.digest });
      const delivery = receiver.received[0]!;
      expect(delivery.headers['x-regctl-signature']).toBe(`sha256=${createHmac('sha256', 's3cret').update(delivery.raw).digest('hex')}`);

      const debugUrl = /debug server listening.* url=(http\S+)/.exec(srv.stderr())?.[1];
      expect(debugUrl).toBeDefined();
      const metrics = await (await fetch(`${debugUrl}/metrics`)).text();
      expect(metrics).toMatch(/regctl_http_requests_total\{route="manifest",method="PUT",status="201"\} 1/);
      expect(metrics).toMatch(/regctl_webhook_deliveries_total\{endpoint="ci",result="success"\} [1-9]/);
      expect((await fetch(`${debugUrl}/healthz`)).status).toBe(200);
      // The registry port does not serve metrics unless regctl.metrics is on.
      expect((await fetch(`${srv.url}/metrics`)).status).toBe(404);
    } finally {
      await http.close();
      expect(await srv.stop()).toBe(0);
    }
  });
});
