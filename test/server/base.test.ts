// The version check, the API version header on every kind of response, and a walk of ERROR_CODES:
// every code the server can produce is produced here by a real request, with its listed status.
import { beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, type OciErrorCode } from '../../src/oci/errors.js';
import { absentDigest, buildImage, randomBlob, uniqueRepo, type Image } from '../helpers/fixtures.js';
import {
  blobPath,
  expectError,
  expectResponse,
  json,
  manifestPath,
  monolithicPost,
  patchChunk,
  pushImage,
  putManifest,
  startUpload,
  uploadsPath,
  useRegistry,
  type HttpResponse,
  type RegistryHttp,
} from '../helpers/http.js';
import { DRIVER_KINDS } from '../helpers/server.js';

describe.each(DRIVER_KINDS)('%s driver: base', (driver) => {
  const ctx = useRegistry(driver);
  const noDelete = useRegistry(driver, { deleteEnabled: false });
  const repo = uniqueRepo('base');
  let image: Image;

  beforeAll(async () => {
    image = buildImage();
    await pushImage(ctx.http, repo, image, 'latest');
    await pushImage(noDelete.http, repo, image, 'latest');
  });

  it('GET /v2/ answers 200 with an empty JSON object', async () => {
    const res = await ctx.http.get('/v2/');
    expectResponse(res, { status: 200, headers: { 'docker-distribution-api-version': 'registry/2.0' } });
    expect(json(res)).toEqual({});
  });

  // One request per endpoint family and outcome: the header must not depend on the handler.
  const everyResponse: { name: string; send: (http: RegistryHttp) => Promise<HttpResponse> }[] = [
    { name: 'version check', send: (http) => http.get('/v2/') },
    { name: 'catalog', send: (http) => http.get('/v2/_catalog') },
    { name: 'tags list', send: (http) => http.get(`/v2/${repo}/tags/list`) },
    { name: 'unknown repository', send: (http) => http.get(`/v2/${uniqueRepo('none')}/tags/list`) },
    { name: 'manifest GET', send: (http) => http.get(manifestPath(repo, 'latest')) },
    { name: 'manifest HEAD miss', send: (http) => http.head(manifestPath(repo, 'nope')) },
    { name: 'invalid manifest PUT', send: (http) => http.send('PUT', manifestPath(repo, 'x'), { headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: '{' }) },
    { name: 'blob GET', send: (http) => http.get(blobPath(repo, image.blobs[1]!.digest)) },
    { name: 'blob HEAD miss', send: (http) => http.head(blobPath(repo, absentDigest())) },
    { name: 'upload POST', send: (http) => http.send('POST', uploadsPath(repo)) },
    { name: 'referrers', send: (http) => http.get(`/v2/${repo}/referrers/${image.manifest.digest}`) },
    { name: 'invalid name', send: (http) => http.get('/v2/Upper/tags/list') },
    { name: 'unknown endpoint', send: (http) => http.get('/v2/no/such/endpoint') },
    { name: 'outside /v2/', send: (http) => http.get('/') },
  ];
  it.each(everyResponse)('Docker-Distribution-API-Version on: $name', async ({ send }) => {
    const res = await send(ctx.http);
    expectResponse(res, { status: res.status, headers: { 'docker-distribution-api-version': 'registry/2.0' } });
  });

  describe('every error code the server can produce', () => {
    interface Trigger {
      send: () => Promise<HttpResponse>;
      /** Where the spec requires a status other than the code's listed one. */
      status?: number;
    }
    const triggers: Partial<Record<string, Trigger>> = {
      BLOB_UNKNOWN: { send: () => ctx.http.get(blobPath(repo, absentDigest())) },
      // The spec: "If a chunk is uploaded out of order, the registry MUST respond with a 416".
      BLOB_UPLOAD_INVALID: {
        send: async () => {
          const { location } = await startUpload(ctx.http, repo);
          return patchChunk(ctx.http, location, Buffer.from('abcd'), { start: 10 });
        },
        status: 416,
      },
      BLOB_UPLOAD_UNKNOWN: { send: () => ctx.http.get(uploadsPath(repo, '6f2a1c3e-0b7d-4c59-9e21-8d4f5a6b7c8d')) },
      DIGEST_INVALID: { send: () => monolithicPost(ctx.http, repo, randomBlob(16), absentDigest()) },
      MANIFEST_BLOB_UNKNOWN: { send: () => putManifest(ctx.http, repo, 'orphan', buildImage().manifest) },
      MANIFEST_INVALID: {
        send: () => ctx.http.send('PUT', manifestPath(repo, 'bad'), { headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: 'not json' }),
      },
      MANIFEST_UNKNOWN: { send: () => ctx.http.get(manifestPath(repo, 'never-pushed')) },
      NAME_INVALID: { send: () => ctx.http.get('/v2/Not-Lower/tags/list') },
      NAME_UNKNOWN: { send: () => ctx.http.get(`/v2/${uniqueRepo('never')}/tags/list`) },
      // Content-Range announces 100 bytes, the body carries 10.
      SIZE_INVALID: {
        send: async () => {
          const { location } = await startUpload(ctx.http, repo);
          return patchChunk(ctx.http, location, randomBlob(10).data, { start: 0, end: 99 });
        },
      },
      UNSUPPORTED: { send: () => noDelete.http.send('DELETE', manifestPath(repo, 'latest')) },
      TAG_INVALID: { send: () => putManifest(ctx.http, repo, '-dash-first', image.manifest) },
      RANGE_INVALID: { send: () => ctx.http.get(blobPath(repo, image.blobs[1]!.digest), { headers: { range: `bytes=${image.blobs[1]!.size + 10}-` } }) },
      NOT_FOUND: { send: () => ctx.http.get('/v2/no/such/endpoint') },
      PAGINATION_NUMBER_INVALID: { send: () => ctx.http.get('/v2/_catalog?n=-1') },
    };
    // The server has no way to produce these from a request in this set-up; say why, so a new code
    // added to ERROR_CODES without either a trigger or a reason fails the walk.
    const notProduced: Partial<Record<string, string>> = {
      UNAUTHORIZED: 'startRegistry configures no authentication',
      DENIED: 'startRegistry configures no access rules',
      TOOMANYREQUESTS: 'the server has no rate limit',
      UNAVAILABLE: 'only when the storage backend fails',
      UNKNOWN: 'only for unexpected internal errors',
    };

    it.each(Object.keys(ERROR_CODES) as OciErrorCode[])('%s', async (code) => {
      const trigger = triggers[code];
      if (!trigger) {
        expect(notProduced[code], `${code} has neither a trigger nor a reason it cannot be produced`).toBeTruthy();
        return;
      }
      expectError(await trigger.send(), code, trigger.status);
    });
  });
});
