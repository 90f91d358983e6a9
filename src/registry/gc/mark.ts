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
  /** The subject of a manifest the mark phase read (every revision is read). */
  subjectOf(digest: string): string | undefined;
}

export interface MarkOptions {
  deleteUntagged: boolean;
  /** Revisions linked after this are kept even when untagged (pushes in progress). */
  youngSince: Date;
}

interface ParsedManifest {
  children: string[];
  blobs: string[];
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
  const parsed = new Map<string, ParsedManifest | null>();
  const load = async (digest: string): Promise<ParsedManifest | null> => {
    if (!parsed.has(digest)) parsed.set(digest, await readManifest(driver, digest));
    return parsed.get(digest)!;
  };

  const results: RepositoryMarks[] = [];
  for (const name of repositories) {
    const marks: RepositoryMarks = { name, manifests: new Map(), revisions: await listRevisions(driver, name), missing: new Set() };
    const visit = async (digest: string, chain: Chain): Promise<void> => {
      if (marks.manifests.has(digest)) return;
      marks.manifests.set(digest, chain);
      if (!blobs.has(digest)) blobs.set(digest, chain);
      const manifest = await load(digest);
      if (!manifest) {
        marks.missing.add(digest);
        return;
      }
      for (const blob of manifest.blobs) if (!blobs.has(blob)) blobs.set(blob, [...chain, blob]);
      for (const child of manifest.children) await visit(child, [...chain, child]);
    };

    for (const [tag, digest] of await listTags(driver, name)) await visit(digest, [`${name}:${tag}`, digest]);
    for (const [digest, linkedAt] of marks.revisions) {
      if (!options.deleteUntagged) await visit(digest, [`${name}@${digest}`]);
      else if (linkedAt >= options.youngSince) await visit(digest, [`${name}@${digest} (pushed within the grace period)`, digest]);
    }
    await keepReferrers(marks, load, visit);
    results.push(marks);
  }
  return { repositories: results, blobs, subjectOf: (digest) => parsed.get(digest)?.subject };
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
      manifests?: { digest?: string }[];
      config?: { digest?: string };
      layers?: { digest?: string }[];
      fsLayers?: { blobSum?: string }[];
      subject?: { digest?: string };
    };
    const digests = (list: ({ digest?: string } | undefined)[] | undefined): string[] =>
      (list ?? []).map((d) => d?.digest).filter((d): d is string => typeof d === 'string' && isDigest(d));
    const isIndex = Array.isArray(json.manifests) || (json.mediaType !== undefined && isIndexMediaType(json.mediaType));
    const subject = json.subject?.digest && isDigest(json.subject.digest) ? json.subject.digest : undefined;
    if (isIndex) return { children: digests(json.manifests), blobs: [], subject };
    // Schema 1 manifests written by old clients name their layers as fsLayers[].blobSum.
    const schema1 = (json.fsLayers ?? []).map((l) => l.blobSum).filter((d): d is string => typeof d === 'string' && isDigest(d));
    return { children: [], blobs: [...digests([json.config]), ...digests(json.layers), ...schema1], subject };
  } catch {
    return { children: [], blobs: [] };
  }
}

/** Each revision of a repository with the time its link was written. */
export async function listRevisions(driver: StorageDriver, repo: string): Promise<Map<string, Date>> {
  const digests = await listDigestDirs(driver, paths.revisionsDir(repo));
  const times = await mapLimit(digests, IO_CONCURRENCY, async (digest) => {
    const info = await driver.stat(paths.revisionLink(repo, digest)).catch(ignoreNotFound);
    return info ? ([digest, info.modTime] as const) : undefined;
  });
  return new Map(times.filter((t): t is readonly [string, Date] => t !== undefined));
}

/** Tag → digest from `current/link`, skipping tags whose link is missing or unreadable. */
export async function listTags(driver: StorageDriver, repo: string): Promise<[string, string][]> {
  const tags = await driver.list(paths.tagsDir(repo)).catch(ignoreNotFound);
  const resolved = await mapLimit(tags ?? [], IO_CONCURRENCY, async (tag) => {
    const link = await driver.getContent(paths.tagCurrentLink(repo, tag), 1024).catch(ignoreNotFound);
    const digest = link?.toString('utf8').trim();
    return digest && isDigest(digest) ? ([tag, digest] as [string, string]) : undefined;
  });
  return resolved.filter((t): t is [string, string] => t !== undefined);
}
