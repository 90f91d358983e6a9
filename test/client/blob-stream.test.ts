import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/client/client.js';
import { sha256 } from '../helpers/fixtures.js';

// A registry that drops the connection halfway through a blob: the reader must get an error, not wait forever.
describe('a blob download cut off halfway', () => {
  let server: Server;
  let client: RegistryClient;
  const content = Buffer.alloc(100_000, 7);

  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-length': content.length, 'docker-content-digest': sha256(content) });
      res.write(content.subarray(0, 50_000), () => res.socket?.destroy());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    client = new RegistryClient({ registry: `127.0.0.1:${(server.address() as AddressInfo).port}`, scheme: 'http', retries: 0 });
  });
  afterAll(async () => {
    await client.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('fails the stream', async () => {
    const { stream } = await client.getBlob('repo', sha256(content));
    const read = (async () => {
      for await (const _ of stream);
    })();
    await expect(Promise.race([read, new Promise((_, reject) => setTimeout(() => reject(new Error('still waiting after 5 s')), 5000))])).rejects.toThrow(
      /terminated|other side closed|aborted|socket/i,
    );
  });
});
