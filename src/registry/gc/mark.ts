import { isDigest } from '../../oci/digest.js';
import { isIndexMediaType } from '../../oci/manifest.js';
import { ignoreNotFound, PathNotFoundError, type StorageDriver } from '../../storage/driver.js';
import * as paths from '../../storage/paths.js';
import { mapLimit } from '../../util/concurrency.js';
import { listDigestDirs } from '../links.js';

/** Why something is kept: the path from a root (a tag, or an untagged revision) down to it. */
export type Chain = readonly string[];

export interface RepositoryMarks {
  name: string;
  /** Manifest digests kept in this repository, each with the first chain found to it. */
  manifests: Map<string, Chain>;
  /** Every revision in the repository, with its link's time (grace checks) — kept or not. */
  revisions: Map<string, Date>;
  /** Manifests whose blob data is missing from the store (reported, not fatal). */
  missing: Set<string>;
}

export interface MarkResult {
  repositories: RepositoryMarks[];
  /** Every blob digest (manifests, configs, layers) reachable from a kept manifest. */
  blobs: Map<string, Chain>;
  /** Sizes of reachable blobs as their descriptors (or, for manifests, their bytes) state them. */
  sizes: Map<string, number>;
  /** The subject of a manifest the mark phase read (every revision is read). */
  subjectOf(digest: string): string | undefined;
}

export interface MarkOptions {
  deleteUntagged: boolean;
  /** Revisions linked after this are kept even when untagged (pushes in progress). */
  youngSince: Date;
}

interface ParsedManifest {
  size: number;
  children: string[];
  blobs: { digest: string; size: number }[];
  subject?: string;
}

const IO_CONCURRENCY = 32;

/**
 * The mark phase: roots are tags (and, unless deleting untagged manifests, every revision, and in
 * any case young revisions); from each, index → child manifests → config and layers. Referrers are
 * kept while their subject is, repeatedly, since a signature can itself be signed.
 */
export async function mark(driver: StorageDriver, repositories: string[], options: MarkOptions): Promise<MarkResult> {
  const blobs = new Map<string, Chain>();
  const sizes = new Map<string, number>();
  const parsed = new Map<string, ParsedManifest | null>();
  const loading = new Map<string, Promise<ParsedManifest | null>>();
  const load = (digest: string): Promise<ParsedManifest | null> => {
    let pending = loading.get(digest);
    if (!pending) {
      pending = readManifest(driver, digest).then((m) => (parsed.set(digest, m), m));
      loading.set(digest, pending);
    }
    return pending;
  };

  // Repositories and their roots are marked concurrently: reading thousands of small manifests one
  // after another would leave the disk (and libuv's thread pool) mostly idle.
  const results = await mapLimit(repositories, 4, async (name): Promise<RepositoryMarks> => {
    const marks: RepositoryMarks = { name, manifests: new Map(), revisions: await listRevisions(driver, name, options.deleteUntagged), missing: new Set() };
    const visit = async (digest: string, chain: Chain): Promise<void> => {
      if (marks.manifests.has(digest)) return;
      marks.manifests.set(digest, chain);
      if (!blobs.has(digest)) blobs.set(digest, chain);
      const manifest = await load(digest);
      if (!manifest) {
        marks.missing.add(digest);
        return;
      }
      sizes.set(digest, manifest.size);
      for (const blob of manifest.blobs) {
        if (blobs.has(blob.digest)) continue;
        blobs.set(blob.digest, [...chain, blob.digest]);
        sizes.set(blob.digest, blob.size);
      }
      await Promise.all(manifest.children.map((child) => visit(child, [...chain, child])));
    };

    // Tags before revisions, so a tagged manifest is explained by its tag.
    const tagRoots: [string, Chain][] = (await listTags(driver, name)).map(([tag, digest]) => [digest, [`${name}:${tag}`, digest]]);
    const revisionRoots: [string, Chain][] = [];
    for (const [digest, linkedAt] of marks.revisions) {
      if (!options.deleteUntagged) revisionRoots.push([digest, [`${name}@${digest}`]]);
      else if (linkedAt >= options.youngSince) revisionRoots.push([digest, [`${name}@${digest} (pushed within the grace period)`, digest]]);
    }
    await mapLimit(tagRoots, IO_CONCURRENCY, ([digest, chain]) => visit(digest, chain));
    await mapLimit(revisionRoots, IO_CONCURRENCY, ([digest, chain]) => visit(digest, chain));
    await keepReferrers(marks, load, visit);
    return marks;
  });
  return { repositories: results, blobs, sizes, subjectOf: (digest) => parsed.get(digest)?.subject };
}

async function keepReferrers(
  marks: RepositoryMarks,
  load: (digest: string) => Promise<ParsedManifest | null>,
  visit: (digest: string, chain: Chain) => Promise<void>,
): Promise<void> {
  for (let changed = true; changed; ) {
    changed = false;
    for (const digest of marks.revisions.keys()) {
      if (marks.manifests.has(digest)) continue;
      const subject = (await load(digest))?.subject;
      const subjectChain = subject ? marks.manifests.get(subject) : undefined;
      if (!subjectChain) continue;
      await visit(digest, [...subjectChain, `${digest} (referrer)`]);
      changed = true;
    }
  }
}

async function readManifest(driver: StorageDriver, digest: string): Promise<ParsedManifest | null> {
  let body: Buffer;
  try {
    body = await driver.getContent(paths.blobData(digest));
  } catch (err) {
    if (err instanceof PathNotFoundError) return null;
    throw err;
  }
  try {
    const json = JSON.parse(body.toString('utf8')) as {
      mediaType?: string;
      manifests?: Descriptorish[];
      config?: Descriptorish;
      layers?: Descriptorish[];
      fsLayers?: { blobSum?: string }[];
      subject?: Descriptorish;
    };
    const isIndex = Array.isArray(json.manifests) || (json.mediaType !== undefined && isIndexMediaType(json.mediaType));
    const subject = descriptors([json.subject])[0]?.digest;
    if (isIndex) return { size: body.length, children: descriptors(json.manifests).map((d) => d.digest), blobs: [], subject };
    // Schema 1 manifests written by old clients name their layers as fsLayers[].blobSum, without sizes.
    const schema1 = descriptors((json.fsLayers ?? []).map((l) => ({ digest: l.blobSum, size: 0 })));
    return { size: body.length, children: [], blobs: [...descriptors([json.config]), ...descriptors(json.layers), ...schema1], subject };
  } catch {
    return { size: body.length, children: [], blobs: [] };
  }
}

interface Descriptorish {
  digest?: unknown;
  size?: unknown;
}

function descriptors(list: (Descriptorish | undefined)[] | undefined): { digest: string; size: number }[] {
  return (list ?? []).flatMap((d) =>
    typeof d?.digest === 'string' && isDigest(d.digest) ? [{ digest: d.digest, size: typeof d.size === 'number' ? d.size : 0 }] : [],
  );
}

/**
 * Each revision of a repository with the time its link was written, when `withTimes` (the grace
 * period matters only for untagged revisions, which only --delete-untagged removes).
 */
async function listRevisions(driver: StorageDriver, repo: string, withTimes: boolean): Promise<Map<string, Date>> {
  const digests = await listDigestDirs(driver, paths.revisionsDir(repo));
  if (!withTimes) return new Map(digests.map((d) => [d, new Date(0)]));
  const times = await mapLimit(digests, IO_CONCURRENCY, async (digest) => {
    const info = await driver.stat(paths.revisionLink(repo, digest)).catch(ignoreNotFound);
    return info ? ([digest, info.modTime] as const) : undefined;
  });
  return new Map(times.filter((t): t is readonly [string, Date] => t !== undefined));
}

/** Tag → digest from `current/link`, skipping tags whose link is missing or unreadable. */
async function listTags(driver: StorageDriver, repo: string): Promise<[string, string][]> {
  const tags = await driver.list(paths.tagsDir(repo)).catch(ignoreNotFound);
  const resolved = await mapLimit(tags ?? [], IO_CONCURRENCY, async (tag) => {
    const link = await driver.getContent(paths.tagCurrentLink(repo, tag), 1024).catch(ignoreNotFound);
    const digest = link?.toString('utf8').trim();
    return digest && isDigest(digest) ? ([tag, digest] as [string, string]) : undefined;
  });
  return resolved.filter((t): t is [string, string] => t !== undefined);
}
