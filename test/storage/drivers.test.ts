import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FilesystemDriver } from '../../src/storage/filesystem.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import { describeDriverConformance } from './conformance.js';

describeDriverConformance('filesystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'regctl-fs-driver-'));
  return { driver: new FilesystemDriver(root), cleanup: () => rm(root, { recursive: true, force: true }) };
});

describeDriverConformance('memory', async () => ({ driver: new MemoryDriver(), cleanup: async () => undefined }));

describe('memory driver', () => {
  it('stamps modTime from the injected clock, and a move keeps it', async () => {
    let now = new Date('2024-01-01T00:00:00Z');
    const driver = new MemoryDriver(() => now);
    await driver.putContent('/a/obj', 'x');
    now = new Date('2024-06-01T00:00:00Z');
    await driver.move('/a/obj', '/b/obj');
    expect((await driver.stat('/b/obj')).modTime).toEqual(new Date('2024-01-01T00:00:00Z'));
    expect((await driver.stat('/b')).modTime).toEqual(now);
  });

  it('streams a large object in chunks of at most 1 MiB', async () => {
    const driver = new MemoryDriver();
    await driver.putContent('/big', Buffer.alloc(5 * 1024 * 1024 + 3));
    const sizes: number[] = [];
    for await (const chunk of await driver.reader('/big', { offset: 3 })) sizes.push((chunk as Buffer).length);
    expect(sizes).toEqual([1, 2, 3, 4, 5].map(() => 1024 * 1024));
  });
});
