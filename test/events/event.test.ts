import { describe, expect, it } from 'vitest';
import { buildEvent, intentOf, needsDescription } from '../../src/events/event.js';
import { signBody, verifySignature } from '../../src/events/signature.js';
import type { CompletedRequest } from '../../src/server/app.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

function done(partial: Partial<CompletedRequest> & { method: string }): CompletedRequest {
  const { method, ...rest } = partial;
  return {
    request: { id: 'req-1', method, remote: '127.0.0.1', host: 'reg.example:5000', userAgent: 'skopeo/1.9' },
    route: 'manifest',
    repo: 'team/app',
    param: 'v1',
    query: '',
    status: 200,
    responseHeaders: {},
    bytesIn: 0,
    bytesOut: 0,
    durationMs: 1,
    ...rest,
  };
}

describe('intentOf: which request makes which event', () => {
  it.each([
    ['manifest PUT by tag', done({ method: 'PUT', status: 201, responseHeaders: { 'docker-content-digest': DIGEST } }), { action: 'push', kind: 'manifest', digest: DIGEST, tag: 'v1' }],
    ['manifest PUT by digest', done({ method: 'PUT', param: DIGEST, status: 201, responseHeaders: { 'docker-content-digest': DIGEST } }), { action: 'push', digest: DIGEST, tag: undefined }],
    [
      'manifest GET',
      done({ method: 'GET', responseHeaders: { 'docker-content-digest': DIGEST, 'content-type': OCI_MANIFEST, 'content-length': 394 } }),
      { action: 'pull', kind: 'manifest', digest: DIGEST, tag: 'v1', mediaType: OCI_MANIFEST, size: 394 },
    ],
    ['manifest DELETE by digest', done({ method: 'DELETE', param: DIGEST, status: 202 }), { action: 'delete', digest: DIGEST, tag: undefined }],
    ['manifest DELETE by tag', done({ method: 'DELETE', status: 202 }), { action: 'delete', tag: 'v1', digest: undefined }],
    [
      'blob GET of a range: the whole size',
      done({ method: 'GET', route: 'blob', param: DIGEST, status: 206, responseHeaders: { 'docker-content-digest': DIGEST, 'content-length': 4, 'content-range': 'bytes 0-3/11' } }),
      { action: 'pull', kind: 'blob', size: 11, mediaType: 'application/octet-stream' },
    ],
    ['blob redirect to storage', done({ method: 'GET', route: 'blob', param: DIGEST, status: 307 }), { action: 'pull', kind: 'blob', digest: DIGEST, size: undefined }],
    ['blob DELETE', done({ method: 'DELETE', route: 'blob', param: DIGEST, status: 202 }), { action: 'delete', kind: 'blob', digest: DIGEST }],
    ['upload completed', done({ method: 'PUT', route: 'upload', param: 'u-1', status: 201, responseHeaders: { 'docker-content-digest': DIGEST } }), { action: 'push', kind: 'blob', digest: DIGEST }],
    [
      'monolithic upload',
      done({ method: 'POST', route: 'upload-start', param: '', status: 201, query: `digest=${DIGEST}`, responseHeaders: { 'docker-content-digest': DIGEST } }),
      { action: 'push', kind: 'blob' },
    ],
    [
      'mount',
      done({ method: 'POST', route: 'upload-start', param: '', status: 201, query: `mount=${DIGEST}&from=base/os`, responseHeaders: { 'docker-content-digest': DIGEST } }),
      { action: 'mount', kind: 'blob', fromRepository: 'base/os' },
    ],
  ])('%s', (_name, request, expected: Record<string, unknown>) => {
    const intent = intentOf(request) as Record<string, unknown> | undefined;
    expect(intent).toBeDefined();
    for (const [key, value] of Object.entries({ repository: 'team/app', ...expected })) expect(intent![key], key).toEqual(value);
  });

  it.each([
    ['HEAD of a manifest', done({ method: 'HEAD', responseHeaders: { 'docker-content-digest': DIGEST } })],
    ['HEAD of a blob', done({ method: 'HEAD', route: 'blob', param: DIGEST })],
    ['a failed push', done({ method: 'PUT', status: 400 })],
    ['a missing manifest', done({ method: 'GET', status: 404 })],
    ['an upload started (202)', done({ method: 'POST', route: 'upload-start', param: '', status: 202 })],
    ['a chunk', done({ method: 'PATCH', route: 'upload', param: 'u-1', status: 202 })],
    ['a mount that fell back to an upload', done({ method: 'POST', route: 'upload-start', param: '', status: 202, query: `mount=${DIGEST}&from=x` })],
    ['a tags list', done({ method: 'GET', route: 'tags', param: '' })],
    ['a referrers list', done({ method: 'GET', route: 'referrers', param: DIGEST })],
  ])('%s makes no event', (_name, request) => {
    expect(intentOf(request)).toBeUndefined();
  });

  it('asks for a description only when the reply lacks size or media type', () => {
    expect(needsDescription(intentOf(done({ method: 'PUT', status: 201, responseHeaders: { 'docker-content-digest': DIGEST } }))!)).toBe(true);
    expect(needsDescription(intentOf(done({ method: 'DELETE', param: DIGEST, status: 202 }))!)).toBe(false);
  });
});

describe('buildEvent: the CNCF envelope', () => {
  const context = { id: 'ev-1', timestamp: new Date('2026-11-26T21:23:59.843Z'), scheme: 'https', source: { addr: 'node-1:5000', instanceID: 'inst-1' } };

  it('a push carries size twice (size, length), the URL by digest, the tag and the request', () => {
    const intent = { action: 'push' as const, kind: 'manifest' as const, repository: 'team/app', digest: DIGEST, tag: 'v1', mediaType: OCI_MANIFEST, size: 394 };
    const event = buildEvent(intent, { id: 'req-1', method: 'PUT', remote: '10.0.0.7', host: 'reg.example:5000', userAgent: 'docker/27', user: 'alice' }, context);
    expect(event).toEqual({
      id: 'ev-1',
      timestamp: '2026-11-26T21:23:59.843Z',
      action: 'push',
      target: { mediaType: OCI_MANIFEST, size: 394, digest: DIGEST, length: 394, repository: 'team/app', url: `https://reg.example:5000/v2/team/app/manifests/${DIGEST}`, tag: 'v1' },
      request: { id: 'req-1', addr: '10.0.0.7', host: 'reg.example:5000', method: 'PUT', useragent: 'docker/27' },
      actor: { name: 'alice' },
      source: { addr: 'node-1:5000', instanceID: 'inst-1' },
    });
    // The CNCF registry's order, so captured events of both diff cleanly.
    expect(Object.keys(event.target)).toEqual(['mediaType', 'size', 'digest', 'length', 'repository', 'url', 'tag']);
  });

  it('a delete names only what went; anonymous requests have an empty actor', () => {
    const event = buildEvent({ action: 'delete', kind: 'blob', repository: 'team/app', digest: DIGEST }, { id: 'req-2', method: 'DELETE' }, context);
    expect(event.target).toEqual({ digest: DIGEST, repository: 'team/app' });
    expect(event.actor).toEqual({});
    expect(event.request).toEqual({ id: 'req-2', method: 'DELETE', useragent: '' });
  });

  it('a mount names the repository it came from', () => {
    const event = buildEvent(
      { action: 'mount', kind: 'blob', repository: 'team/app', digest: DIGEST, fromRepository: 'base/os', mediaType: 'application/octet-stream', size: 11 },
      { id: 'req-3', method: 'POST', host: 'h:1' },
      { ...context, scheme: 'http' },
    );
    expect(event.target).toMatchObject({ fromRepository: 'base/os', url: `http://h:1/v2/team/app/blobs/${DIGEST}`, size: 11, length: 11 });
  });
});

describe('signature', () => {
  it('is the HMAC-SHA256 of the body, checked in constant time', () => {
    const body = '{"events":[]}';
    // echo -n '{"events":[]}' | openssl dgst -sha256 -hmac s3cret
    expect(signBody('s3cret', body)).toBe('sha256=66e558d03919c6fa065e88fe40f06defe8192f6a30d4aa72fa79bdd775efa48c');
    expect(verifySignature('s3cret', body, signBody('s3cret', body))).toBe(true);
    expect(verifySignature('other', body, signBody('s3cret', body))).toBe(false);
    expect(verifySignature('s3cret', `${body} `, signBody('s3cret', body))).toBe(false);
    expect(verifySignature('s3cret', body, undefined)).toBe(false);
  });
});
