import { digestOf, isDigest, parseDigest } from '../oci/digest.js';
import { DigestInvalid, ManifestBlobUnknown, ManifestUnknown } from '../oci/errors.js';
import { parseManifest, storedMediaType, type Descriptor, type Manifest } from '../oci/manifest.js';
import { parseReference } from '../oci/reference.js';
import { ignoreNotFound, type StorageDriver } from '../storage/driver.js';
import * as paths from '../storage/paths.js';
import { exists, type BlobStore } from './blobs.js';
import { ContentCache } from './cache.js';
import type { GcCoordinator } from './gc/coordinator.js';
import type { ReferrerStore } from './referrers.js';
import type { TagStore } from './tags.js';

export interface StoredManifest {
  digest: string;
  mediaType: string;
  body: Buffer;
}

export interface PutManifestResult {
  digest: string;
  subject?: string;
}

/**
 * Manifests are blobs (by digest) plus a revision link in their repository; tags point at digests.
 * Everything a manifest references must already be in the repository when it is pushed.
 */
export class ManifestStore {
  constructor(
    private readonly driver: StorageDriver,
    private readonly blobs: BlobStore,
    private readonly tags: TagStore,
    private readonly referrers: ReferrerStore,
    private readonly cache: ContentCache,
    private readonly gc: GcCoordinator,
  ) {}

  /** Resolves a tag or digest to the manifest stored in `repo`. */
  async get(repo: string, reference: string): Promise<StoredManifest> {
    const ref = parseReference(reference);
    const digest = ref.kind === 'digest' ? ref.digest : await this.tags.resolve(repo, ref.tag);
    if (!(await exists(this.driver, paths.revisionLink(repo, digest)))) throw unknownManifest(repo, reference);
    return this.load(digest, repo, reference);
  }

  /**
   * `checkReferences: false` is for the pull-through cache, which stores a manifest before the
   * clients that pulled it ask for its blobs.
   */
  async put(
    repo: string,
    reference: string,
    body: Buffer,
    contentType: string | undefined,
    options: { checkReferences?: boolean } = {},
  ): Promise<PutManifestResult> {
    const ref = parseReference(reference);
    const byDigest = ref.kind === 'digest';
    const digest = byDigest ? digestOf(body, parseDigest(reference).algorithm) : digestOf(body);
    if (byDigest && digest !== reference) {
      throw new DigestInvalid(`manifest body has digest ${digest}, not ${reference}`, { detail: { expected: reference, actual: digest } });
    }
    const manifest = parseManifest(body, contentType);
    const referenced = manifest.kind === 'index' ? manifest.manifests : [manifest.config, ...manifest.layers];
    await this.gc.reaching([digest, ...referenced.map((d) => d.digest)], async () => {
      if (options.checkReferences !== false) await this.checkReferences(repo, manifest);
      // Content before the links that make it reachable, so a crash never leaves a link to nothing.
      await this.blobs.putContent(digest, body);
      this.cache.set(digest, { digest, mediaType: manifest.mediaType, body });
      await Promise.all([
        this.driver.putContent(paths.revisionLink(repo, digest), digest),
        manifest.subject && this.referrers.add(repo, manifest.subject.digest, digest),
      ]);
      if (ref.kind === 'tag') await this.tags.set(repo, ref.tag, digest);
    });
    return { digest, subject: manifest.subject?.digest };
  }

  /** A tag: just that tag goes. A digest: the manifest, every tag pointing at it, its referrer entry. */
  async delete(repo: string, reference: string): Promise<void> {
    const ref = parseReference(reference);
    if (ref.kind === 'tag') {
      await this.tags.remove(repo, ref.tag);
      return;
    }
    const revision = paths.revisionLink(repo, reference);
    if (!(await exists(this.driver, revision))) throw unknownManifest(repo, reference);
    const subject = await this.subjectOf(reference);
    await this.tags.removeAllPointingAt(repo, reference);
    await this.driver.delete(paths.revisionDir(repo, reference)).catch(ignoreNotFound);
    if (subject) await this.referrers.remove(repo, subject, reference);
  }

  /** Reads a manifest by digest without checking which repository holds it (referrers, gc). */
  async load(digest: string, repo?: string, reference?: string): Promise<StoredManifest> {
    const cached = this.cache.get(digest);
    if (cached) return cached;
    let body: Buffer;
    try {
      body = await this.blobs.getContent(digest);
    } catch (err) {
      throw unknownManifest(repo, reference ?? digest, err);
    }
    const manifest = { digest, mediaType: storedMediaType(body), body };
    this.cache.set(digest, manifest);
    return manifest;
  }

  private async subjectOf(digest: string): Promise<string | undefined> {
    try {
      const { body } = await this.load(digest);
      const subject = (JSON.parse(body.toString('utf8')) as { subject?: { digest?: unknown } }).subject?.digest;
      return typeof subject === 'string' && isDigest(subject) ? subject : undefined;
    } catch {
      return undefined;
    }
  }

  private async checkReferences(repo: string, manifest: Manifest): Promise<void> {
    const missing: Descriptor[] = [];
    const check = async (d: Descriptor, present: (digest: string) => Promise<boolean>): Promise<void> => {
      if (!(await present(d.digest))) missing.push(d);
    };
    if (manifest.kind === 'index') {
      await Promise.all(manifest.manifests.map((d) => check(d, (digest) => exists(this.driver, paths.revisionLink(repo, digest)))));
    } else {
      // Foreign layers (with urls, e.g. Windows base layers) are fetched from elsewhere by clients.
      const blobs = [manifest.config, ...manifest.layers.filter((l) => !l.urls?.length)];
      // The data too, not just the link: another registry's garbage collector may have left the link.
      const present = async (digest: string): Promise<boolean> =>
        (await this.blobs.isLinked(repo, digest)) && this.blobs.existsGlobally(digest);
      await Promise.all(blobs.map((d) => check(d, present)));
    }
    if (missing.length > 0) {
      const first = missing[0]!;
      const what = manifest.kind === 'index' ? 'child manifest' : 'blob';
      throw new ManifestBlobUnknown(`${what} ${first.digest} is not in repository ${repo}; push it before the manifest`, {
        detail: { digest: first.digest, missing: missing.map((d) => d.digest) },
      });
    }
  }
}

export function unknownManifest(repo: string | undefined, reference: string, cause?: unknown): InstanceType<typeof ManifestUnknown> {
  return new ManifestUnknown(repo ? `manifest ${reference} is not in repository ${repo}` : `manifest ${reference} is unknown`, {
    detail: { reference },
    cause,
  });
}
