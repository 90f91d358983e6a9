import type { StorageConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { listRepositoryDirs } from '../registry/catalog.js';
import { sweepUploads } from '../registry/gc/collect.js';
import type { Registry } from '../registry/registry.js';
import { GC_DEFAULTS } from '../server/handlers/admin.js';

/** Stops a background job; an in-flight run finishes on its own. */
export type StopJob = () => void;

/** Scheduled collections keep untagged manifests (only unreferenced blobs and stale uploads go). */
export function scheduleGc(registry: Registry, intervalMs: number, logger: Logger): StopJob {
  const timer = setInterval(() => {
    if (registry.gc.isRunning) return;
    registry
      .collectGarbage({ dryRun: false, deleteUntagged: false, ...GC_DEFAULTS })
      .then((report) =>
        logger.info('garbage collection', {
          blobsRemoved: report.summary.blobsRemoved,
          bytesFreed: report.summary.bytesFreed,
          uploadsRemoved: report.summary.uploadsRemoved,
          durationMs: report.durationMs,
        }),
      )
      .catch((err: unknown) => logger.error('garbage collection failed', { error: (err as Error).message }));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * `storage.maintenance.uploadpurging`: uploads started more than `age` ago are removed every
 * `interval`. As in the CNCF registry, the first run comes after a random delay (at most an hour,
 * at most one interval), so replicas started together do not all sweep at once.
 */
export function scheduleUploadPurging(registry: Registry, purging: StorageConfig['uploadPurging'], logger: Logger, random: () => number = Math.random): StopJob {
  let running = false;
  const purge = (): void => {
    if (running) return;
    running = true;
    void purgeOnce(registry, purging)
      .then((removed) => {
        if (removed.length || purging.dryRun) {
          logger.info(purging.dryRun ? 'upload purging (dry run): would remove' : 'upload purging', { uploadsRemoved: removed.length, bytesFreed: removed.reduce((n, u) => n + u.size, 0) });
        }
      })
      .catch((err: unknown) => logger.error('upload purging failed', { error: (err as Error).message }))
      .finally(() => (running = false));
  };
  let interval: NodeJS.Timeout | undefined;
  const first = setTimeout(() => {
    purge();
    interval = setInterval(purge, purging.intervalMs);
    interval.unref();
  }, Math.floor(random() * Math.min(purging.intervalMs, 3_600_000)));
  first.unref();
  return () => {
    clearTimeout(first);
    if (interval) clearInterval(interval);
  };
}

async function purgeOnce(registry: Registry, purging: StorageConfig['uploadPurging']): ReturnType<typeof sweepUploads> {
  const repositories = await listRepositoryDirs(registry.driver, ['_uploads']);
  return sweepUploads(registry.driver, repositories, new Date(Date.now() - purging.ageMs), purging.dryRun);
}
