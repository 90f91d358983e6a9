import { afterEach, describe, expect, it } from 'vitest';
import { EVENTS_MEDIA_TYPE, type RegistryEvent } from '../../src/events/event.js';
import { verifySignature } from '../../src/events/signature.js';
import { buildImage, randomBlob, uniqueRepo } from '../helpers/fixtures.js';
import {
  blobPath,
  expectResponse,
  finishUpload,
  manifestPath,
  patchChunk,
  pushBlob,
  pushImage,
  sleep,
  startUpload,
  uploadsPath,
} from '../helpers/http.js';
import { endpoint, sample, startHarness, type Harness } from './harness.js';
import { Receiver } from './receiver.js';

const OPEN: { harness?: Harness; receivers: Receiver[] } = { receivers: [] };

afterEach(async () => {
  await OPEN.harness?.close();
  for (const r of OPEN.receivers.splice(0)) await r.stop();
  OPEN.harness = undefined;
});

async function receiver(behaviour?: ConstructorParameters<typeof Receiver>[0]): Promise<Receiver> {
  const r = await new Receiver(behaviour).start();
  OPEN.receivers.push(r);
  return r;
}

async function harness(...args: Parameters<typeof startHarness>): Promise<Harness> {
  OPEN.harness = await startHarness(...args);
  return OPEN.harness;
}

/** What identifies an event, for comparing lists regardless of delivery order. */
const key = (e: RegistryEvent): string => `${e.action} ${e.target.repository} ${e.target.digest ?? '-'} ${e.target.tag ?? '-'}`;

describe('webhooks: one event per action, the CNCF envelope, delivered to a real receiver', () => {
  it('push, pull and delete each make exactly one event; HEAD and failed requests make none', async () => {
    const r = await receiver();
    const { http } = await harness([endpoint(r.url, { secret: 's3cret', headers: { Authorization: ['Bearer abc'] } })]);
    const repo = uniqueRepo('events');
    const image = buildImage({ layers: 2 });
    const [config, layer1, layer2] = image.blobs;

    await pushImage(http, repo, image, 'v1'); // 3 monolithic blob pushes + 1 manifest push
    const chunked = randomBlob(3000);
    const { location } = await startUpload(http, repo);
    expectResponse(await patchChunk(http, location, chunked.data.subarray(0, 1000), { start: 0 }), { status: 202 });
    expectResponse(await finishUpload(http, location, chunked.digest, chunked.data.subarray(1000)), { status: 201 });

    const pull = await http.get(manifestPath(repo, 'v1'), { headers: { accept: image.manifest.mediaType, 'x-request-id': 'pull-v1' } });
    expectResponse(pull, { status: 200 });
    expectResponse(await http.get(blobPath(repo, layer1!.digest)), { status: 200 });
    expectResponse(await http.get(blobPath(repo, layer2!.digest), { headers: { range: 'bytes=0-9' } }), { status: 206 });
    // None of these makes an event.
    expectResponse(await http.head(manifestPath(repo, 'v1')), { status: 200 });
    expectResponse(await http.head(blobPath(repo, config!.digest)), { status: 200 });
    expectResponse(await http.get(manifestPath(repo, 'absent')), { status: 404 });
    expectResponse(await http.send('PUT', manifestPath(repo, 'bad'), { headers: { 'content-type': image.manifest.mediaType }, body: '{' }), { status: 400 });
    expectResponse(await http.get(`/v2/${repo}/tags/list`), { status: 200 });

    expectResponse(await http.send('DELETE', manifestPath(repo, image.manifest.digest)), { status: 202 });
    expectResponse(await http.send('DELETE', blobPath(repo, chunked.digest)), { status: 202 });

    const expected = [
      ...image.blobs.map((b) => `push ${repo} ${b.digest} -`),
      `push ${repo} ${image.manifest.digest} v1`,
      `push ${repo} ${chunked.digest} -`,
      `pull ${repo} ${image.manifest.digest} v1`,
      `pull ${repo} ${layer1!.digest} -`,
      `pull ${repo} ${layer2!.digest} -`,
      `delete ${repo} ${image.manifest.digest} -`,
      `delete ${repo} ${chunked.digest} -`,
    ];
    await r.waitForEvents(expected.length);
    await sleep(200); // anything extra would have arrived by now
    expect(r.events.map(key).sort()).toEqual(expected.sort());

    // The CNCF media type, the configured headers, a signature, the ids of the requests behind the events.
    for (const { headers, raw, envelope } of r.received) {
      expect(headers['content-type']).toBe(EVENTS_MEDIA_TYPE);
      expect(headers.authorization).toBe('Bearer abc');
      expect(verifySignature('s3cret', raw, headers['x-regctl-signature'] as string)).toBe(true);
      expect(headers['x-request-id']).toBe([...new Set(envelope.events.map((e) => e.request.id))].join(','));
    }

    const manifestPush = r.events.find((e) => e.action === 'push' && e.target.tag === 'v1')!;
    expect(manifestPush.target).toEqual({
      mediaType: image.manifest.mediaType,
      size: image.manifest.body.length,
      digest: image.manifest.digest,
      length: image.manifest.body.length,
      repository: repo,
      url: `${OPEN.harness!.reg.url}/v2/${repo}/manifests/${image.manifest.digest}`,
      tag: 'v1',
    });
    expect(manifestPush.request).toMatchObject({ method: 'PUT', host: OPEN.harness!.reg.host, addr: '127.0.0.1' });
    expect(manifestPush.source).toMatchObject({ addr: OPEN.harness!.reg.host, instanceID: expect.any(String) });

    const pulled = r.events.find((e) => e.action === 'pull' && e.target.tag === 'v1')!;
    expect(pulled.request.id).toBe('pull-v1');
    expect(pulled.request.method).toBe('GET');
    const ranged = r.events.find((e) => e.action === 'pull' && e.target.digest === layer2!.digest)!;
    expect(ranged.target).toMatchObject({ mediaType: 'application/octet-stream', size: layer2!.data.length, length: layer2!.data.length });
    const chunkPush = r.events.find((e) => e.action === 'push' && e.target.digest === chunked.digest)!;
    expect(chunkPush.target.size).toBe(3000);
    expect(r.events.find((e) => e.action === 'delete' && e.target.digest === image.manifest.digest)!.target).toEqual({
      digest: image.manifest.digest,
      repository: repo,
    });
  });

  it('a cross-repository mount makes one mount event naming where it came from', async () => {
    const r = await receiver();
    const { http } = await harness([endpoint(r.url)]);
    const from = uniqueRepo('base');
    const repo = uniqueRepo('app');
    const blob = randomBlob(100);
    await pushBlob(http, from, blob);
    expectResponse(await http.send('POST', uploadsPath(repo, `?mount=${blob.digest}&from=${from}`), { headers: { 'content-length': '0' } }), { status: 201 });
    await r.waitForEvents(2);
    await sleep(100);
    expect(r.events.map(key)).toEqual([`push ${from} ${blob.digest} -`, `mount ${repo} ${blob.digest} -`]);
    expect(r.events[1]!.target).toMatchObject({ fromRepository: from, size: 100 });
  });

  it('each endpoint gets its own stream, without the actions and media types it ignores; a disabled one gets nothing', async () => {
    const all = await receiver();
    const pushesOnly = await receiver();
    const noManifests = await receiver();
    const disabled = await receiver();
    const image = buildImage({ layers: 1 });
    const { http } = await harness([
      endpoint(all.url, { name: 'all' }),
      endpoint(pushesOnly.url, { name: 'pushes', ignoredActions: ['pull', 'delete', 'mount'] }),
      endpoint(noManifests.url, { name: 'blobs', ignoredMediaTypes: [image.manifest.mediaType] }),
      endpoint(disabled.url, { name: 'off', disabled: true }),
    ]);
    const repo = uniqueRepo('filters');
    await pushImage(http, repo, image, 'v1');
    expectResponse(await http.get(manifestPath(repo, 'v1'), { headers: { accept: image.manifest.mediaType } }), { status: 200 });
    await all.waitForEvents(4);
    await pushesOnly.waitForEvents(3);
    await noManifests.waitForEvents(2);
    await sleep(150);
    expect(all.events.map((e) => e.action).sort()).toEqual(['pull', 'push', 'push', 'push']);
    expect(pushesOnly.events.every((e) => e.action === 'push')).toBe(true);
    expect(pushesOnly.events).toHaveLength(3);
    expect(noManifests.events.map((e) => e.target.mediaType)).toEqual(['application/octet-stream', 'application/octet-stream']);
    expect(disabled.attempts).toBe(0);
  });
});

describe('webhooks: slow, failing and absent receivers never hold up the registry', () => {
  it('a slow receiver: requests finish at once while deliveries trail behind, batched, all of them delivered', async () => {
    const r = await receiver({ delayMs: 400 });
    const { http } = await harness([endpoint(r.url)]);
    const repo = uniqueRepo('slow');
    const blobs = Array.from({ length: 5 }, () => randomBlob(64));
    const started = performance.now();
    for (const b of blobs) await pushBlob(http, repo, b);
    const elapsed = performance.now() - started;
    // Five pushes done before the receiver has answered even the first delivery.
    expect(r.received).toHaveLength(0);
    expect(elapsed).toBeLessThan(400);
    await r.waitForEvents(5, 6_000);
    expect(r.events.map((e) => e.target.digest)).toEqual(blobs.map((b) => b.digest));
    // The four that queued behind the first went in one envelope.
    expect(r.received.map((d) => d.envelope.events.length)).toEqual([1, 4]);
  });

  it('a failing receiver: retried, backed off after the threshold, every event delivered exactly once', async () => {
    const r = await receiver({ status: (n) => (n < 5 ? 503 : 200) });
    const h = await harness([endpoint(r.url, { threshold: 3, backoffMs: 20 })]);
    const repo = uniqueRepo('failing');
    const blobs = Array.from({ length: 3 }, () => randomBlob(64));
    for (const b of blobs) await pushBlob(h.http, repo, b);
    await r.waitForEvents(3, 5_000);
    await sleep(100);
    expect(r.events.map((e) => e.target.digest)).toEqual(blobs.map((b) => b.digest));
    expect(await sample(h.metrics, 'regctl_webhook_deliveries_total', { endpoint: 'hook', result: 'failure' })).toBe(5);
    expect(await sample(h.metrics, 'regctl_webhook_deliveries_total', { endpoint: 'hook', result: 'success' })).toBe(3);
    expect(h.logs.filter((l) => l.msg === 'webhook endpoint failing; backing off')).toHaveLength(1);
    expect(h.logs.find((l) => l.msg === 'webhook endpoint recovered')).toMatchObject({ endpoint: 'hook', failures: 5 });
  });

  it('a receiver slower than the timeout: the attempt fails and is retried', async () => {
    const r = await receiver({ delayMs: 300 });
    const h = await harness([endpoint(r.url, { timeoutMs: 100 })]);
    await pushBlob(h.http, uniqueRepo('timeout'), randomBlob(10));
    await sleep(250);
    r.set({});
    await r.waitForEvents(1, 5_000);
    expect(await sample(h.metrics, 'regctl_webhook_deliveries_total', { endpoint: 'hook', result: 'failure' })).toBeGreaterThanOrEqual(1);
    expect(h.logs.some((l) => typeof l.error === 'string' && l.error.includes('no answer within 100 ms'))).toBe(true);
  });

  it('a receiver that is down: the queue keeps the newest events up to its limit, drops (logs, counts) the rest, delivers on return', async () => {
    const r = await receiver();
    const h = await harness([endpoint(r.url, { threshold: 1, backoffMs: 50 })], { queueLimit: 4, maxBackoffMs: 100 });
    await r.stop();
    const repo = uniqueRepo('down');
    const blobs = Array.from({ length: 8 }, () => randomBlob(32));
    for (const b of blobs) {
      await pushBlob(h.http, repo, b);
      await sleep(5); // each event reaches the queue before the next
    }
    // The first is in flight (retried), four wait; the three between were dropped.
    const dropped = h.logs.filter((l) => l.msg === 'webhook event dropped');
    expect(dropped.map((l) => l.digest)).toEqual(blobs.slice(1, 4).map((b) => b.digest));
    expect(dropped[0]).toMatchObject({ endpoint: 'hook', reason: 'the queue is full', action: 'push', repository: repo });
    expect(await sample(h.metrics, 'regctl_webhook_deliveries_total', { endpoint: 'hook', result: 'dropped' })).toBe(3);
    expect(await sample(h.metrics, 'regctl_webhook_queue_length', { endpoint: 'hook' })).toBe(5);

    await r.start();
    await r.waitForEvents(5, 5_000);
    expect(r.events.map((e) => e.target.digest)).toEqual([blobs[0], ...blobs.slice(4)].map((b) => b!.digest));
  });

  it('close() delivers what a working receiver takes within the bound', async () => {
    const r = await receiver({ delayMs: 50 });
    const h = await harness([endpoint(r.url)]);
    const repo = uniqueRepo('flush');
    for (let i = 0; i < 4; i++) await pushBlob(h.http, repo, randomBlob(16));
    await h.reg.close();
    await h.notifier.close(2_000);
    expect(r.events).toHaveLength(4);
    expect(await sample(h.metrics, 'regctl_webhook_deliveries_total', { endpoint: 'hook', result: 'dropped' })).toBe(0);
    OPEN.harness = undefined;
    await h.http.close();
  });

  it('close() does not sit out the back-off of a failing receiver: it drops (logs, counts) at once', async () => {
    const r = await receiver();
    const h = await harness([endpoint(r.url, { threshold: 1, backoffMs: 10_000 })], { maxBackoffMs: 10_000 });
    await r.stop();
    const repo = uniqueRepo('close');
    for (let i = 0; i < 3; i++) await pushBlob(h.http, repo, randomBlob(16));
    await sleep(50);
    await h.reg.close();
    const started = performance.now();
    await h.notifier.close(5_000);
    expect(performance.now() - started).toBeLessThan(500);
    expect(await sample(h.metrics, 'regctl_webhook_deliveries_total', { endpoint: 'hook', result: 'dropped' })).toBe(3);
    expect(h.logs.filter((l) => l.reason === 'not delivered before shutdown')).toHaveLength(3);
    OPEN.harness = undefined;
    await h.http.close();
  });
});
