import { digestOf } from '../oci/digest.js';
import { parseManifest, type Descriptor } from '../oci/manifest.js';
import { mapLimit } from '../util/concurrency.js';
import type { ManifestResult, RegistryClient } from './client.js';

/** A repository on one registry, seen through a client. */
export interface RepositoryOn {
  client: RegistryClient;
  repository: string;
}

export interface PlannedManifest {
  digest: string;
  mediaType: string;
  body: Buffer;
  /** Set for a manifest that refers to another (signature, SBOM): how the subject lists it. */
  referrer?: { subject: string; descriptor: Descriptor };
}

/**
 * Everything one copy moves, read from the source before anything is written: the manifests in an
 * order a registry accepts (children before their index, subjects before their referrers) and the
 * blobs they need, each once however many manifests share it.
 */
export class CopyPlan {
  readonly manifests: PlannedManifest[] = [];
  readonly blobs = new Map<string, Descriptor>();
  /** How many manifests were found through the referrers API. */
  referrers = 0;
  private readonly seen = new Set<string>();

  constructor(
    private readonly source: RepositoryOn,
    private readonly concurrency: number,
    private readonly signal?: AbortSignal,
  ) {}

  /** Adds a manifest with its children (recursively) and blobs; a digest already planned is skipped. */
  async add(fetched: ManifestResult): Promise<PlannedManifest | undefined> {
    // Computed, not taken from Docker-Content-Digest: the body is what the destination will hash.
    const digest = digestOf(fetched.body);
    if (this.seen.has(digest)) return undefined;
    this.seen.add(digest);
    const manifest = parseManifest(fetched.body, fetched.mediaType);
    if (manifest.kind === 'index') {
      const children = await mapLimit(manifest.manifests, this.concurrency, (d) => this.fetch(d.digest));
      for (const child of children) await this.add(child);
    } else {
      // Foreign layers (with urls) are not in registries; the server skips them on PUT too.
      for (const d of [manifest.config, ...manifest.layers.filter((l) => !l.urls?.length)]) this.blobs.set(d.digest, d);
    }
    const planned: PlannedManifest = { digest, mediaType: manifest.mediaType, body: fetched.body };
    if (manifest.subject) {
      const artifactType = manifest.artifactType ?? (manifest.kind === 'image' ? manifest.config.mediaType : undefined);
      planned.referrer = {
        subject: manifest.subject.digest,
        descriptor: {
          mediaType: manifest.mediaType,
          digest,
          size: fetched.body.length,
          ...(artifactType ? { artifactType } : {}),
          ...(manifest.annotations ? { annotations: manifest.annotations } : {}),
        },
      };
    }
    this.manifests.push(planned);
    return planned;
  }

  /**
   * Adds the manifests that refer to any planned one, and theirs in turn. The walk ends because each
   * digest is planned once and the source holds finitely many.
   */
  async addReferrers(): Promise<void> {
    for (let i = 0; i < this.manifests.length; i++) {
      const found = await this.source.client.referrers(this.source.repository, this.manifests[i]!.digest, { signal: this.signal });
      for (const d of found) {
        if (this.seen.has(d.digest)) continue;
        if (await this.add(await this.fetch(d.digest))) this.referrers++;
      }
    }
  }

  fetch(reference: string): Promise<ManifestResult> {
    return this.source.client.getManifest(this.source.repository, reference, this.signal);
  }
}
