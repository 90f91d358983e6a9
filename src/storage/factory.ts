import type { StorageConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { StorageDriver } from './driver.js';
import { FilesystemDriver } from './filesystem.js';
import { MemoryDriver } from './memory.js';

/** The driver `storage` names. S3 is imported only when used: its SDK is the heaviest load of all. */
export async function createStorageDriver(storage: StorageConfig, logger: Logger): Promise<StorageDriver> {
  switch (storage.driver) {
    case 'filesystem':
      return new FilesystemDriver(storage.rootDirectory);
    case 'inmemory':
      return new MemoryDriver();
    case 's3': {
      const { createS3Driver } = await import('./s3.js');
      return createS3Driver(storage.s3, logger);
    }
  }
}

/** For start-up lines and `--json`: the driver and where it keeps data. */
export function describeStorage(storage: StorageConfig): { driver: StorageConfig['driver']; location: string } {
  switch (storage.driver) {
    case 'filesystem':
      return { driver: 'filesystem', location: storage.rootDirectory };
    case 'inmemory':
      return { driver: 'inmemory', location: '(memory; gone on exit)' };
    case 's3':
      return { driver: 's3', location: `s3://${storage.s3.bucket}/${storage.s3.rootDirectory}` };
  }
}
