export type KeptReason =
  | 'written within the grace period'
  | 'linked into a repository within the grace period'
  | 'referenced by a push during the collection';

export interface RemovedBlob {
  digest: string;
  size: number;
  /** Repositories that linked it (their `_layers` links go with it). */
  repositories: string[];
}

/** What a collection removed (or, in a dry run, would remove), and what it kept and why. */
export interface GcReport {
  dryRun: boolean;
  deleteUntagged: boolean;
  graceSeconds: number;
  uploadsOlderThanSeconds: number;
  durationMs: number;
  summary: {
    repositories: number;
    manifestsKept: number;
    manifestsRemoved: number;
    blobsKept: number;
    blobsRemoved: number;
    bytesKept: number;
    bytesFreed: number;
    uploadsRemoved: number;
    uploadBytesFreed: number;
  };
  /** Per repository; a blob shared by several counts in each. */
  repositories: { name: string; manifestsRemoved: number; blobsRemoved: number; bytesFreed: number }[];
  removed: {
    blobs: RemovedBlob[];
    manifests: { repository: string; digest: string }[];
    uploads: { repository: string; id: string; startedAt: string; size: number }[];
  };
  /** Unreferenced blobs that were not freed, and why: the answer to "why is my disk still full". */
  keptUnreferenced: { digest: string; size: number; reason: KeptReason }[];
  /** Manifests that tags or indexes point at but whose content is missing from the store. */
  missing: { repository: string; digest: string }[];
  explain: { digest: string; kept: boolean; reason: string; chain?: string[] }[];
}
