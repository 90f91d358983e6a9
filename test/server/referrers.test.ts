// The referrers API (end-12a/12b) and OCI-Subject on manifest PUT.
import { beforeAll, describe, expect, it } from 'vitest';
import { MT, absentDigest, buildImage, buildIndex, subjectOf, uniqueRepo, type BuiltManifest, type Descriptor, type Image } from '../helpers/fixtures.js';
import { expectError, expectResponse, json, manifestPath, pushImage, putManifest, useRegistry, type RegistryContext } from '../helpers/http.js';
import { DRIVER_KINDS } from '../helpers/server.js';

const SBOM = 'application/vnd.example.sbom.v1+json';
const SIG_CONFIG = 'application/vnd.example.signature.config.v1+json';
const BUNDLE = 'application/vnd.example.bundle.v1';

interface ReferrersIndex {
  schemaVersion: number;
  mediaType: string;
  manifests: Descriptor[];
}

/** What the spec says the referrers list holds for a pushed manifest. */
function expectedDescriptor(m: BuiltManifest, artifactType: string | undefined, annotations?: Record<string, string>): Descriptor {
  return {
    mediaType: m.mediaType,
    digest: m.digest,
    size: m.size,
    ...(artifactType ? { artifactType } : {}),
    ...(annotations ? { annotations } : {}),
  };
}

async function listReferrers(ctx: RegistryContext, repo: string, subject: string, artifactType?: string) {
  const query = artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : '';
  const res = await ctx.http.get(`/v2/${repo}/referrers/${subject}${query}`);
  expectResponse(res, { status: 200, headers: { 'content-type': MT.ociIndex } });
  const index = json<ReferrersIndex>(res);
  expect({ schemaVersion: index.schemaVersion, mediaType: index.mediaType }).toEqual({ schemaVersion: 2, mediaType: MT.ociIndex });
  const byDigest = (a: Descriptor, b: Descriptor) => a.digest.localeCompare(b.digest);
  return { res, manifests: [...index.manifests].sort(byDigest), sort: (ds: Descriptor[]) => [...ds].sort(byDigest) };
}

describe.each(DRIVER_KINDS)('%s driver: referrers', (driver) => {
  const ctx = useRegistry(driver);
  const repo = uniqueRepo('referrers');
  let subject: Image;
  let sbom: Image;
  let signature: Image;
  let bundle: BuiltManifest;
  let all: Descriptor[];

  beforeAll(async () => {
    subject = buildImage();
    await pushImage(ctx.http, repo, subject, 'app');
    const about = subjectOf(subject.manifest);
    // An artifactType of its own; no artifactType, so the config media type stands in; an index.
    sbom = buildImage({ artifactType: SBOM, subject: about, annotations: { 'org.example.format': 'spdx', 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' } });
    signature = buildImage({ configMediaType: SIG_CONFIG, subject: about, layers: 1 });
    const unrelated = buildImage({ artifactType: SBOM, subject: subjectOf(buildImage().manifest) });
    for (const image of [sbom, signature, unrelated]) await pushImage(ctx.http, repo, image);
    bundle = buildIndex([sbom.manifest], { artifactType: BUNDLE, subject: about, annotations: { 'org.example.kind': 'bundle' } });
    expectResponse(await putManifest(ctx.http, repo, bundle.digest, bundle), { status: 201, headers: { 'oci-subject': about.digest } });
    all = [
      expectedDescriptor(sbom.manifest, SBOM, { 'org.example.format': 'spdx', 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' }),
      expectedDescriptor(signature.manifest, SIG_CONFIG),
      expectedDescriptor(bundle, BUNDLE, { 'org.example.kind': 'bundle' }),
    ];
  });

  it('lists a descriptor of every manifest whose subject is the digest, and no OCI-Filters-Applied', async () => {
    const { res, manifests, sort } = await listReferrers(ctx, repo, subject.manifest.digest);
    expect(manifests).toEqual(sort(all));
    expect(res.headers['oci-filters-applied']).toBeUndefined();
  });

  const filters: { name: string; artifactType: string; want: () => Descriptor[] }[] = [
    { name: "the manifest's own artifactType", artifactType: SBOM, want: () => [all[0]!] },
    { name: "the config media type (manifest without artifactType)", artifactType: SIG_CONFIG, want: () => [all[1]!] },
    { name: "an index's artifactType", artifactType: BUNDLE, want: () => [all[2]!] },
    { name: 'a type nothing has', artifactType: 'application/vnd.example.none', want: () => [] },
  ];
  it.each(filters)('?artifactType= $name filters and sets OCI-Filters-Applied', async ({ artifactType, want }) => {
    const { res, manifests } = await listReferrers(ctx, repo, subject.manifest.digest, artifactType);
    expect(manifests).toEqual(want());
    expectResponse(res, { status: 200, headers: { 'oci-filters-applied': 'artifactType' } });
  });

  const empties: { name: string; path: () => string }[] = [
    { name: 'an unknown subject', path: () => `/v2/${repo}/referrers/${absentDigest()}` },
    { name: 'a subject nothing refers to', path: () => `/v2/${repo}/referrers/${sbom.manifest.digest}` },
    { name: 'a repository that does not exist', path: () => `/v2/${uniqueRepo('nobody')}/referrers/${subject.manifest.digest}` },
    { name: 'the subject asked for in another repository', path: () => `/v2/${uniqueRepo('referrers')}/referrers/${subject.manifest.digest}` },
  ];
  it.each(empties)('$name → 200 with an empty index', async ({ path }) => {
    const res = await ctx.http.get(path());
    expectResponse(res, { status: 200, headers: { 'content-type': MT.ociIndex } });
    expect(json(res)).toMatchObject({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: [] });
  });

  it.each(['sha256:abc', 'latest', 'sha256'])('an invalid digest %j → 400 DIGEST_INVALID', async (digest) => {
    expectError(await ctx.http.get(`/v2/${repo}/referrers/${digest}`), 'DIGEST_INVALID');
  });

  it('a referrer pushed before its subject is listed', async () => {
    const later = buildImage();
    const early = buildImage({ artifactType: SBOM, subject: subjectOf(later.manifest) });
    await pushImage(ctx.http, repo, early);
    const before = await listReferrers(ctx, repo, later.manifest.digest);
    expect(before.manifests).toEqual([expectedDescriptor(early.manifest, SBOM)]);
    await pushImage(ctx.http, repo, later);
    const after = await listReferrers(ctx, repo, later.manifest.digest);
    expect(after.manifests).toEqual([expectedDescriptor(early.manifest, SBOM)]);
  });

  it('deleting a referrer removes it from the list; deleting only its tag does not', async () => {
    const target = buildImage();
    await pushImage(ctx.http, repo, target);
    const [kept, dropped] = [1, 2].map(() => buildImage({ artifactType: SBOM, subject: subjectOf(target.manifest) }));
    await pushImage(ctx.http, repo, kept!, 'kept-ref');
    await pushImage(ctx.http, repo, dropped!);

    expectResponse(await ctx.http.send('DELETE', manifestPath(repo, 'kept-ref')), { status: 202 });
    expectResponse(await ctx.http.send('DELETE', manifestPath(repo, dropped!.manifest.digest)), { status: 202 });
    const { manifests } = await listReferrers(ctx, repo, target.manifest.digest);
    expect(manifests).toEqual([expectedDescriptor(kept!.manifest, SBOM)]);
  });
});
