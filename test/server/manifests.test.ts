// Manifests: PUT (end-7), GET/HEAD (end-3) and DELETE (end-9) by tag and by digest; media types,
// validation, the size limit, and the name and tag grammar.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  MT,
  absentDigest,
  blobOf,
  buildImage,
  buildIndex,
  encodeManifest,
  manifestOfSize,
  subjectOf,
  uniqueRepo,
  type BuiltManifest,
  type Image,
} from '../helpers/fixtures.js';
import {
  expectError,
  expectResponse,
  json,
  manifestPath,
  pushBlob,
  pushImage,
  pushManifestOk,
  putManifest,
  uploadsPath,
  useRegistry,
  type HttpResponse,
  type RegistryContext,
} from '../helpers/http.js';
import { DRIVER_KINDS } from '../helpers/server.js';

const MIB = 1024 * 1024;

/** Test titles stay readable when a case is a 255-character name. */
function labelled<T extends string>(values: T[]): { value: T; label: string }[] {
  return values.map((value) => ({ value, label: value.length > 40 ? `${value.length} chars` : value }));
}

/** The image's manifest JSON changed by `edit`, served under `mediaType`. */
function mutate(image: Image, edit: (doc: Record<string, any>) => unknown, mediaType = image.manifest.mediaType): BuiltManifest {
  const doc = JSON.parse(image.manifest.body.toString('utf8')) as Record<string, any>;
  edit(doc);
  return encodeManifest(doc, mediaType);
}

/** GET and HEAD by tag and by digest all serve the manifest as pushed. */
async function expectServed(ctx: RegistryContext, repo: string, references: string[], m: BuiltManifest): Promise<void> {
  for (const reference of references) {
    for (const method of ['GET', 'HEAD']) {
      const res = await ctx.http.send(method, manifestPath(repo, reference));
      expectResponse(res, {
        status: 200,
        headers: { 'content-type': m.mediaType, 'docker-content-digest': m.digest, 'content-length': String(m.size) },
      });
      if (method === 'GET') expect(res.body.equals(m.body), `${res.request}: body byte-identical`).toBe(true);
      else expect(res.body.length).toBe(0);
    }
  }
}

function expectManifestCreated(res: HttpResponse, repo: string, m: BuiltManifest): void {
  expectResponse(res, { status: 201, headers: { location: manifestPath(repo, m.digest), 'docker-content-digest': m.digest } });
}

describe.each(DRIVER_KINDS)('%s driver: manifests', (driver) => {
  const ctx = useRegistry(driver);
  const repo = uniqueRepo('manifests');
  let base: Image;

  beforeAll(async () => {
    base = buildImage();
    await pushImage(ctx.http, repo, base);
  });

  /** Pushes an image's blobs and returns its manifest; images inside an index are pushed by digest. */
  const withBlobs = async (image: Image): Promise<BuiltManifest> => {
    for (const blob of image.blobs) await pushBlob(ctx.http, repo, blob);
    return image.manifest;
  };
  const indexOf = async (format: 'oci' | 'docker'): Promise<BuiltManifest> => {
    const children = [buildImage({ format }), buildImage({ format })];
    for (const child of children) await pushImage(ctx.http, repo, child);
    return buildIndex(children.map((c) => c.manifest), { format });
  };
  const kinds: { name: string; build: () => Promise<BuiltManifest> }[] = [
    { name: 'OCI image manifest', build: () => withBlobs(buildImage()) },
    { name: 'Docker schema2 manifest', build: () => withBlobs(buildImage({ format: 'docker' })) },
    { name: 'OCI image index', build: () => indexOf('oci') },
    { name: 'Docker manifest list', build: () => indexOf('docker') },
    { name: 'artifact (artifactType, empty config)', build: () => withBlobs(buildImage({ artifactType: 'application/vnd.example.sbom.v1+json', layers: 1 })) },
    {
      name: 'artifact (custom config media type, no layers)',
      build: () => withBlobs(buildImage({ configMediaType: 'application/vnd.example.thing.config.v1+json', config: blobOf('{"thing":1}'), layers: 0 })),
    },
    {
      name: 'OCI index without mediaType (shape decides)',
      build: async () => {
        const index = await indexOf('oci');
        const doc = JSON.parse(index.body.toString('utf8')) as Record<string, unknown>;
        delete doc.mediaType;
        return encodeManifest(doc, MT.ociIndex);
      },
    },
  ];

  it.each(kinds)('$name: PUT by tag → 201, then GET/HEAD by tag and digest serve it as pushed', async ({ build }) => {
    const m = await build();
    const tag = `t-${m.digest.slice(7, 19)}`;
    const res = await putManifest(ctx.http, repo, tag, m);
    expectManifestCreated(res, repo, m);
    expect(res.headers['oci-subject'], 'no OCI-Subject without a subject').toBeUndefined();
    await expectServed(ctx, repo, [tag, m.digest], m);
  });

  it('PUT by digest → 201 and is served by digest', async () => {
    const m = await withBlobs(buildImage());
    expectManifestCreated(await putManifest(ctx.http, repo, m.digest, m), repo, m);
    await expectServed(ctx, repo, [m.digest], m);
  });

  it('a Content-Type with parameters is accepted and served without them', async () => {
    const m = await withBlobs(buildImage());
    expectManifestCreated(await putManifest(ctx.http, repo, 'params', m, `${m.mediaType}; charset=utf-8`), repo, m);
    await expectServed(ctx, repo, ['params'], m);
  });

  it('PUT by a digest the body does not have → 400 DIGEST_INVALID', async () => {
    const m = await withBlobs(buildImage());
    expectError(await putManifest(ctx.http, repo, absentDigest(), m), 'DIGEST_INVALID');
    expectError(await ctx.http.get(manifestPath(repo, m.digest)), 'MANIFEST_UNKNOWN');
  });

  it('a subject that does not exist is accepted, and the response names it in OCI-Subject', async () => {
    const subject = subjectOf(buildImage().manifest);
    const m = await withBlobs(buildImage({ artifactType: 'application/vnd.example.sig', subject }));
    const res = await putManifest(ctx.http, repo, m.digest, m);
    expectManifestCreated(res, repo, m);
    expectResponse(res, { status: 201, headers: { 'oci-subject': subject.digest } });
  });

  it('re-pushing a tag moves it; the old manifest stays pullable by digest', async () => {
    const [a, b] = [await withBlobs(buildImage()), await withBlobs(buildImage())];
    await pushManifestOk(ctx.http, repo, 'moving', a);
    await pushManifestOk(ctx.http, repo, 'moving', b);
    await expectServed(ctx, repo, ['moving'], b);
    await expectServed(ctx, repo, [a.digest], a);
  });

  describe('invalid manifests → 400 MANIFEST_INVALID, nothing stored', () => {
    const schema1 = { schemaVersion: 1, name: 'x/y', tag: 'latest', architecture: 'amd64', fsLayers: [], history: [], signatures: [] };
    const raw = (body: string): BuiltManifest => {
      const blob = blobOf(body);
      return { mediaType: MT.ociManifest, body: blob.data, digest: blob.digest, size: blob.size };
    };
    const cases: { name: string; build: () => BuiltManifest; contentType?: string; message?: RegExp }[] = [
      { name: 'not JSON', build: () => raw('{"schemaVersion": 2,') },
      { name: 'a JSON array', build: () => raw('[]') },
      { name: 'a JSON string', build: () => raw('"manifest"') },
      { name: 'schema 1 by Content-Type (prettyjws)', build: () => encodeManifest(schema1, MT.schema1Signed), message: /schema ?1/i },
      { name: 'schema 1 by schemaVersion', build: () => encodeManifest(schema1, 'application/vnd.docker.distribution.manifest.v1+json'), message: /schema ?1/i },
      { name: 'schema 1 body under an OCI Content-Type', build: () => encodeManifest(schema1, MT.ociManifest), message: /schema ?1/i },
      { name: 'schemaVersion 3', build: () => mutate(base, (j) => (j.schemaVersion = 3)) },
      { name: 'mediaType disagreeing with Content-Type', build: () => mutate(base, (j) => (j.annotations = { case: 'disagree' })), contentType: MT.dockerManifest },
      { name: 'an index body under an image Content-Type', build: () => buildIndex([base.manifest]), contentType: MT.ociManifest },
      { name: 'no config', build: () => mutate(base, (j) => delete j.config) },
      { name: 'layers not an array', build: () => mutate(base, (j) => (j.layers = {})) },
      { name: 'a config digest with bad syntax', build: () => mutate(base, (j) => (j.config.digest = 'sha256:nothex')) },
      { name: 'a negative layer size', build: () => mutate(base, (j) => (j.layers[0].size = -1)) },
      { name: 'a layer without mediaType', build: () => mutate(base, (j) => delete j.layers[0].mediaType) },
      { name: 'an index whose manifests is not an array', build: () => mutate(base, (j) => { delete j.config; delete j.layers; j.manifests = 'x'; j.mediaType = MT.ociIndex; }, MT.ociIndex) },
      { name: 'an unknown manifest media type', build: () => mutate(base, (j) => (j.mediaType = 'application/vnd.example.thing+json'), 'application/vnd.example.thing+json') },
    ];
    it.each(cases)('$name', async ({ build, contentType, message }) => {
      const m = build();
      const error = expectError(await putManifest(ctx.http, repo, 'invalid', m, contentType), 'MANIFEST_INVALID');
      if (message) expect(error.message, 'the refusal says why').toMatch(message);
      expectError(await ctx.http.get(manifestPath(repo, m.digest)), 'MANIFEST_UNKNOWN');
    });
  });

  describe('size limit', () => {
    it('a manifest of exactly 4 MiB is accepted', async () => {
      const m = manifestOfSize(base, 4 * MIB);
      expectManifestCreated(await putManifest(ctx.http, repo, 'four-mib', m), repo, m);
      await expectServed(ctx, repo, ['four-mib'], m);
    });

    it('one byte over 4 MiB → 413 MANIFEST_INVALID', async () => {
      const m = manifestOfSize(base, 4 * MIB + 1);
      expectError(await putManifest(ctx.http, repo, 'too-big', m), 'MANIFEST_INVALID', 413);
      expectError(await ctx.http.get(manifestPath(repo, 'too-big')), 'MANIFEST_UNKNOWN');
    });
  });

  describe('referenced content must be in the repository → 404 MANIFEST_BLOB_UNKNOWN', () => {
    const elsewhere = uniqueRepo('manifests-elsewhere');
    const cases: { name: string; build: () => Promise<BuiltManifest> }[] = [
      {
        name: 'config missing',
        build: async () => {
          const image = buildImage();
          for (const layer of image.blobs.slice(1)) await pushBlob(ctx.http, repo, layer);
          return image.manifest;
        },
      },
      {
        name: 'a layer missing',
        build: async () => {
          const image = buildImage({ layers: 3 });
          for (const blob of image.blobs.slice(0, 3)) await pushBlob(ctx.http, repo, blob);
          return image.manifest;
        },
      },
      {
        name: 'blobs pushed only to another repository',
        build: async () => {
          const image = buildImage();
          for (const blob of image.blobs) await pushBlob(ctx.http, elsewhere, blob);
          return image.manifest;
        },
      },
      {
        name: 'an index child pushed nowhere',
        build: async () => buildIndex([base.manifest, buildImage().manifest]),
      },
      {
        name: 'an index child pushed only to another repository',
        build: async () => {
          const child = buildImage();
          await pushImage(ctx.http, elsewhere, child);
          return buildIndex([base.manifest, child.manifest]);
        },
      },
    ];
    it.each(cases)('$name', async ({ build }) => {
      const m = await build();
      const tag = `missing-${m.digest.slice(7, 15)}`;
      expectError(await putManifest(ctx.http, repo, tag, m), 'MANIFEST_BLOB_UNKNOWN');
      expectError(await ctx.http.get(manifestPath(repo, tag)), 'MANIFEST_UNKNOWN');
    });
  });

  describe('names and tags', () => {
    const invalidNames = ['Upper', 'a//b', '-a', 'a-', '_a', '.a', 'a___b', 'a/B', 'a'.repeat(256), `${'a'.repeat(200)}/${'b'.repeat(55)}`];
    const endpoints: { endpoint: string; send: (name: string) => Promise<HttpResponse> }[] = [
      { endpoint: 'manifest GET', send: (name) => ctx.http.get(manifestPath(name, 'latest')) },
      { endpoint: 'manifest PUT', send: (name) => putManifest(ctx.http, name, 'latest', base.manifest) },
      { endpoint: 'tags list', send: (name) => ctx.http.get(`/v2/${name}/tags/list`) },
      { endpoint: 'upload POST', send: (name) => ctx.http.send('POST', uploadsPath(name)) },
    ];
    const table = labelled(invalidNames).flatMap((name) => endpoints.map((e) => ({ ...e, ...name })));
    it.each(table)('$endpoint with name $label → 400 NAME_INVALID', async ({ send, value }) => {
      expectError(await send(value), 'NAME_INVALID');
    });

    // Valid names the server has never seen: not-found, not invalid.
    const validNames = ['a', 'a-b', 'a--b', 'a__b', 'a_b.c', 'a.b/c_d/e-f', 'a0/1b', 'a'.repeat(255)];
    it.each(labelled(validNames))('unknown valid name $label → 404, not 400', async ({ value }) => {
      expectResponse(await ctx.http.get(manifestPath(value, 'latest')), { status: 404 });
    });

    const invalidTags = ['-x', '.x', 'a'.repeat(129), 'a%20b', 'a+b', '%C3%A9'];
    // The name is fine, so the answer must blame the tag, whichever method carries it.
    const tagVerbs: { verb: string; send: (tag: string) => Promise<HttpResponse> }[] = [
      { verb: 'PUT', send: (tag) => putManifest(ctx.http, repo, tag, base.manifest) },
      { verb: 'GET', send: (tag) => ctx.http.get(manifestPath(repo, tag)) },
      { verb: 'DELETE', send: (tag) => ctx.http.send('DELETE', manifestPath(repo, tag)) },
    ];
    const tagTable = labelled(invalidTags).flatMap((tag) => tagVerbs.map((v) => ({ ...v, ...tag })));
    it.each(tagTable)('manifest $verb with tag $label → 400 TAG_INVALID', async ({ send, value }) => {
      expectError(await send(value), 'TAG_INVALID');
    });
    // A colon makes a reference a digest (algorithm:encoded), so an unknown algorithm is the digest's fault.
    it.each(tagVerbs)('manifest $verb with reference "a:b" → 400 DIGEST_INVALID', async ({ send }) => {
      expectError(await send('a:b'), 'DIGEST_INVALID');
    });
    it.each(labelled(invalidTags))('manifest HEAD with tag $label → 400', async ({ value }) => {
      expectResponse(await ctx.http.head(manifestPath(repo, value)), { status: 400 });
    });

    const validTags = ['a'.repeat(128), '_x', 'A.b-C_9', '0', 'v1.2.3-rc.1'];
    it.each(labelled(validTags))('manifest PUT with tag $label → 201', async ({ value }) => {
      expectManifestCreated(await putManifest(ctx.http, repo, value, base.manifest), repo, base.manifest);
      await expectServed(ctx, repo, [value], base.manifest);
    });
  });

  describe('unknown manifests', () => {
    const refs: { name: string; ref: () => string }[] = [
      { name: 'tag', ref: () => 'no-such-tag' },
      { name: 'digest', ref: absentDigest },
    ];
    it.each(refs)('GET of an unknown $name → 404 MANIFEST_UNKNOWN', async ({ ref }) => {
      expectError(await ctx.http.get(manifestPath(repo, ref())), 'MANIFEST_UNKNOWN');
    });
    it.each(refs)('HEAD of an unknown $name → 404 without a body', async ({ ref }) => {
      const res = await ctx.http.head(manifestPath(repo, ref()));
      expectResponse(res, { status: 404 });
      expect(res.body.length).toBe(0);
    });
    it.each(refs)('DELETE of an unknown $name → 404 MANIFEST_UNKNOWN', async ({ ref }) => {
      expectError(await ctx.http.send('DELETE', manifestPath(repo, ref())), 'MANIFEST_UNKNOWN');
    });
    it('a manifest pushed to one repository is not served by digest from another', async () => {
      const other = uniqueRepo('manifests');
      await pushImage(ctx.http, other, buildImage({ layers: 0 }), 'present');
      expectError(await ctx.http.get(manifestPath(other, base.manifest.digest)), 'MANIFEST_UNKNOWN');
      expectResponse(await ctx.http.head(manifestPath(other, base.manifest.digest)), { status: 404 });
    });
    it('GET in a repository that does not exist → 404', async () => {
      expectResponse(await ctx.http.get(manifestPath(uniqueRepo('ghost'), 'latest')), { status: 404 });
    });
  });

  describe('DELETE', () => {
    it('by tag → 202, removes only that tag', async () => {
      const m = await withBlobs(buildImage());
      for (const tag of ['del-a', 'del-b']) await pushManifestOk(ctx.http, repo, tag, m);
      expectResponse(await ctx.http.send('DELETE', manifestPath(repo, 'del-a')), { status: 202 });
      expectError(await ctx.http.get(manifestPath(repo, 'del-a')), 'MANIFEST_UNKNOWN');
      await expectServed(ctx, repo, ['del-b', m.digest], m);
    });

    it('by digest → 202, removes the manifest and every tag pointing at it, not other tags', async () => {
      const [m, keep] = [await withBlobs(buildImage()), await withBlobs(buildImage())];
      for (const tag of ['gone-1', 'gone-2']) await pushManifestOk(ctx.http, repo, tag, m);
      await pushManifestOk(ctx.http, repo, 'kept', keep);
      expectResponse(await ctx.http.send('DELETE', manifestPath(repo, m.digest)), { status: 202 });
      for (const ref of [m.digest, 'gone-1', 'gone-2']) expectError(await ctx.http.get(manifestPath(repo, ref)), 'MANIFEST_UNKNOWN');
      const { tags } = json<{ tags: string[] }>(await ctx.http.get(`/v2/${repo}/tags/list`));
      expect(tags).not.toContain('gone-1');
      expect(tags).toContain('kept');
      await expectServed(ctx, repo, ['kept'], keep);
    });

    it('in one repository leaves the same manifest in another untouched', async () => {
      const image = buildImage();
      const other = uniqueRepo('manifests');
      await pushImage(ctx.http, repo, image, 'shared');
      await pushImage(ctx.http, other, image, 'shared');
      expectResponse(await ctx.http.send('DELETE', manifestPath(repo, image.manifest.digest)), { status: 202 });
      await expectServed(ctx, other, ['shared', image.manifest.digest], image.manifest);
    });
  });
});
