import { ignoreNotFound, type StorageDriver } from '../../storage/driver.js';
import * as paths from '../../storage/paths.js';
import { mapLimit } from '../../util/concurrency.js';
import { listRepositoryDirs } from '../catalog.js';
import type { GcCoordinator } from './coordinator.js';
import { listBlobDigests, statBlobs, type BlobEntry } from './inventory.js';
import { mark, type Chain, type MarkResult } from './mark.js';
import { listDigestDirs } from '../links.js';
import type { GcReport, KeptReason, RemovedBlob } from './report.js';

export interface GcOptions {
  dryRun: boolean;
  /** Also remove manifest revisions no tag reaches (their referrers go with them). */
  deleteUntagged: boolean;
  /** Nothing written or linked more recently than this is removed: pushes in progress keep their layers. */
  graceMs: number;
  /** Uploads started longer ago than this are abandoned and removed. */
  uploadsOlderThanMs: number;
  /** Digests whose keeping (or not) to explain in the report. */
  explain?: string[];
  now?: () => Date;
}

const SWEEP_BATCH = 128;
/** Deletes within a batch run side by side: one at a time leaves the disk idle between round trips. */
const DELETE_CONCURRENCY = 16;

/**
 * Mark and sweep over the CNCF layout. With a coordinator (inside `regctl serve`) it is safe while
 * pushes continue; see GcCoordinator for how. The report is the same for a dry run and a real one.
 */
export async function collectGarbage(driver: StorageDriver, options: GcOptions, coordinator?: GcCoordinator): Promise<GcReport> {
  const now = options.now?.() ?? new Date();
  const started = Date.now();
  const youngSince = new Date(now.getTime() - options.graceMs);
  await coordinator?.begin();
  try {
    const repositories = await listRepositoryDirs(driver, ['_manifests', '_layers', '_uploads']);
    const marks = await mark(driver, repositories, { deleteUntagged: options.deleteUntagged, youngSince });
    const layerLinks = await listLayerLinks(driver, repositories);
    // Kept blobs are sized from their descriptors; only the others are stat'ed (for time and size).
    const digests = await listBlobDigests(driver);
    const unreferenced = await statBlobs(driver, digests.filter((d) => !marks.blobs.has(d)));
    const kept = new Map<string, KeptReason>();
    const candidates: BlobEntry[] = [];
    let bytesKept = digests.reduce((n, d) => n + (marks.sizes.get(d) ?? 0), 0);
    for (const blob of unreferenced) {
      if (blob.modTime >= youngSince) kept.set(blob.digest, 'written within the grace period');
      else if (await linkedSince(driver, layerLinks.get(blob.digest) ?? [], blob.digest, youngSince)) {
        kept.set(blob.digest, 'linked into a repository within the grace period');
      } else {
        candidates.push(blob);
        continue;
      }
      bytesKept += blob.size;
    }
    const untagged = options.deleteUntagged ? untaggedRevisions(marks) : [];

    const report = emptyReport(options, marks);
    const sweep = <T>(fn: (isProtected: (d: string) => boolean) => Promise<T>): Promise<T> =>
      coordinator ? coordinator.sweep(fn) : fn(() => false);

    for (const batch of batches(untagged)) {
      await sweep(async (isProtected) => {
        const doomed = batch.filter(({ digest }) => !isProtected(digest));
        if (!options.dryRun) await mapLimit(doomed, DELETE_CONCURRENCY, (m) => removeRevision(driver, m.repository, m.digest, marks.subjectOf(m.digest)));
        report.removed.manifests.push(...doomed);
      });
    }
    for (const batch of batches(candidates)) {
      await sweep(async (isProtected) => {
        const doomed: RemovedBlob[] = [];
        for (const blob of batch) {
          if (isProtected(blob.digest)) {
            kept.set(blob.digest, 'referenced by a push during the collection');
            bytesKept += blob.size;
          } else {
            doomed.push({ digest: blob.digest, size: blob.size, repositories: layerLinks.get(blob.digest) ?? [] });
          }
        }
        if (!options.dryRun) await mapLimit(doomed, DELETE_CONCURRENCY, (b) => removeBlob(driver, b.digest, b.repositories));
        report.removed.blobs.push(...doomed);
      });
    }
    report.removed.uploads = await sweepUploads(driver, repositories, new Date(now.getTime() - options.uploadsOlderThanMs), options.dryRun);

    const sizes = new Map(unreferenced.map((b) => [b.digest, b.size]));
    for (const [digest, reason] of kept) report.keptUnreferenced.push({ digest, size: sizes.get(digest) ?? 0, reason });
    report.explain = (options.explain ?? []).map((digest) => explain(digest, marks, kept, report.removed.blobs));
    finishSummary(report, marks.repositories.reduce((n, r) => n + r.revisions.size, 0), digests.length, bytesKept);
    report.durationMs = Date.now() - started;
    return report;
  } finally {
    coordinator?.end();
  }
}

/** Deletes go in small batches so the exclusive lock of an online collection is held only briefly. */
function* batches<T>(items: T[]): Generator<T[]> {
  for (let i = 0; i < items.length; i += SWEEP_BATCH) yield items.slice(i, i + SWEEP_BATCH);
}

function emptyReport(options: GcOptions, marks: MarkResult): GcReport {
  return {
    dryRun: options.dryRun,
    deleteUntagged: options.deleteUntagged,
    graceSeconds: options.graceMs / 1000,
    uploadsOlderThanSeconds: options.uploadsOlderThanMs / 1000,
    durationMs: 0,
    summary: {
      repositories: marks.repositories.length,
      manifestsKept: 0,
      manifestsRemoved: 0,
      blobsKept: 0,
      blobsRemoved: 0,
      bytesKept: 0,
      bytesFreed: 0,
      uploadsRemoved: 0,
      uploadBytesFreed: 0,
    },
    repositories: [],
    removed: { blobs: [], manifests: [], uploads: [] },
    keptUnreferenced: [],
    missing: marks.repositories.flatMap((r) => [...r.missing].map((digest) => ({ repository: r.name, digest }))),
    explain: [],
  };
}

function finishSummary(report: GcReport, revisionCount: number, blobCount: number, bytesKept: number): void {
  const s = report.summary;
  s.manifestsRemoved = report.removed.manifests.length;
  s.manifestsKept = revisionCount - s.manifestsRemoved;
  s.blobsRemoved = report.removed.blobs.length;
  s.blobsKept = blobCount - s.blobsRemoved;
  s.bytesFreed = report.removed.blobs.reduce((n, b) => n + b.size, 0);
  s.bytesKept = bytesKept;
  s.uploadsRemoved = report.removed.uploads.length;
  s.uploadBytesFreed = report.removed.uploads.reduce((n, u) => n + u.size, 0);
  const perRepo = new Map<string, { manifestsRemoved: number; blobsRemoved: number; bytesFreed: number }>();
  const entry = (name: string) => {
    let e = perRepo.get(name);
    if (!e) perRepo.set(name, (e = { manifestsRemoved: 0, blobsRemoved: 0, bytesFreed: 0 }));
    return e;
  };
  for (const m of report.removed.manifests) entry(m.repository).manifestsRemoved++;
  // A blob linked from several repositories frees its bytes once, but counts in each of them.
  for (const b of report.removed.blobs) {
    for (const repo of b.repositories.length ? b.repositories : ['(not in any repository)']) {
      const e = entry(repo);
      e.blobsRemoved++;
      e.bytesFreed += b.size;
    }
  }
  report.repositories = [...perRepo.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, e]) => ({ name, ...e }));
}

function untaggedRevisions(marks: MarkResult): { repository: string; digest: string }[] {
  return marks.repositories.flatMap((r) =>
    [...r.revisions.keys()].filter((digest) => !r.manifests.has(digest)).map((digest) => ({ repository: r.name, digest })),
  );
}

function explain(digest: string, marks: MarkResult, kept: Map<string, KeptReason>, removed: RemovedBlob[]): GcReport['explain'][number] {
  const chain: Chain | undefined = marks.blobs.get(digest);
  if (chain) return { digest, kept: true, reason: 'referenced', chain: [...chain] };
  const reason = kept.get(digest);
  if (reason) return { digest, kept: true, reason };
  if (removed.some((b) => b.digest === digest)) return { digest, kept: false, reason: 'no tag or kept manifest references it' };
  return { digest, kept: false, reason: 'not in the store' };
}

/** digest → repositories whose `_layers` link it. */
async function listLayerLinks(driver: StorageDriver, repositories: string[]): Promise<Map<string, string[]>> {
  const links = new Map<string, string[]>();
  for (const repo of repositories) {
    for (const digest of await listDigestDirs(driver, paths.layersDir(repo))) {
      const repos = links.get(digest);
      if (repos) repos.push(repo);
      else links.set(digest, [repo]);
    }
  }
  return links;
}

async function linkedSince(driver: StorageDriver, repositories: string[], digest: string, since: Date): Promise<boolean> {
  for (const repo of repositories) {
    const info = await driver.stat(paths.layerLink(repo, digest)).catch(ignoreNotFound);
    if (info && info.modTime >= since) return true;
  }
  return false;
}

async function removeBlob(driver: StorageDriver, digest: string, linkedFrom: string[]): Promise<void> {
  // Links first: a link to a missing blob would make the repository claim a layer it cannot serve.
  for (const repo of linkedFrom) await driver.delete(paths.layerDir(repo, digest)).catch(ignoreNotFound);
  await driver.delete(paths.blobDir(digest)).catch(ignoreNotFound);
}

async function removeRevision(driver: StorageDriver, repo: string, digest: string, subject: string | undefined): Promise<void> {
  await driver.delete(paths.revisionDir(repo, digest)).catch(ignoreNotFound);
  if (subject) await driver.delete(paths.referrerDir(repo, subject, digest)).catch(ignoreNotFound);
}

export async function sweepUploads(driver: StorageDriver, repositories: string[], olderThan: Date, dryRun: boolean): Promise<GcReport['removed']['uploads']> {
  const removed: GcReport['removed']['uploads'] = [];
  for (const repo of repositories) {
    for (const id of (await driver.list(paths.uploadsDir(repo)).catch(ignoreNotFound)) ?? []) {
      if (!paths.isUploadId(id)) continue;
      const startedAt = await uploadStart(driver, repo, id);
      if (!startedAt || startedAt >= olderThan) continue;
      const size = (await driver.stat(paths.uploadData(repo, id)).catch(ignoreNotFound))?.size ?? 0;
      if (!dryRun) await driver.delete(paths.uploadDir(repo, id)).catch(ignoreNotFound);
      removed.push({ repository: repo, id, startedAt: startedAt.toISOString(), size });
    }
  }
  return removed;
}

/** The CNCF registry writes RFC 3339 into `startedat`; an unreadable one falls back to the directory's time. */
async function uploadStart(driver: StorageDriver, repo: string, id: string): Promise<Date | undefined> {
  const text = (await driver.getContent(paths.uploadStartedAt(repo, id), 1024).catch(ignoreNotFound))?.toString('utf8').trim();
  const parsed = text ? new Date(text) : undefined;
  if (parsed && !Number.isNaN(parsed.getTime())) return parsed;
  return (await driver.stat(paths.uploadDir(repo, id)).catch(ignoreNotFound))?.modTime;
}
