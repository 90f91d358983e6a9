import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidPathError } from '../../src/storage/driver.js';
import { FilesystemDriver } from '../../src/storage/filesystem.js';

/** Every file on disk below `dir`, relative to it. */
async function filesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name).slice(dir.length + 1)).sort();
}

describe('filesystem driver', () => {
  let outer: string;
  let root: string;
  let driver: FilesystemDriver;

  beforeEach(async () => {
    // The root sits one level down, so anything escaping it would land in `outer`, where we can see it.
    outer = await mkdtemp(join(tmpdir(), 'regctl-fs-'));
    root = join(outer, 'root');
    await mkdir(root);
    driver = new FilesystemDriver(root);
  });

  afterEach(async () => {
    await rm(outer, { recursive: true, force: true });
  });

  it('does not list or walk a writer’s temp file', async () => {
    await driver.putContent('/t/sibling', 's');
    const w = await driver.writer('/t/obj');
    w.stream.end('pending');
    await finished(w.stream);

    const onDisk = await readdir(join(root, 't'));
    expect(onDisk).toHaveLength(2);
    expect(onDisk.find((n) => n !== 'sibling')).toMatch(/^\.[0-9a-f]+\.tmp$/);
    expect(await driver.list('/t')).toEqual(['sibling']);
    const walked: string[] = [];
    await driver.walk('/t', (e) => void walked.push(e.path));
    expect(walked).toEqual(['/t/sibling']);
    await w.cancel();
  });

  it('leaves no temp file behind when an interrupted writer is cancelled', async () => {
    const w = await driver.writer('/t/obj');
    const failed = new Promise((resolve) => w.stream.once('error', resolve));
    w.stream.write(Buffer.alloc(256 * 1024));
    w.stream.destroy(new Error('client went away'));
    await failed;
    await w.cancel();
    expect(await filesBelow(root)).toEqual([]);
  });

  it('rolls an interrupted append back to its size at open', async () => {
    await driver.putContent('/up/data', 'abc');
    const w = await driver.writer('/up/data', { append: true });
    const failed = new Promise((resolve) => w.stream.once('error', resolve));
    w.stream.write(Buffer.alloc(256 * 1024));
    w.stream.destroy(new Error('client went away'));
    await failed;
    await w.cancel();
    expect((await driver.getContent('/up/data')).toString()).toBe('abc');
    expect(await filesBelow(root)).toEqual(['up/data']);
  });

  it('keeps every path inside its root', async () => {
    for (const path of ['/../escape', '/a/../../escape', '/..', '/a/..']) {
      await expect(driver.putContent(path, 'x')).rejects.toBeInstanceOf(InvalidPathError);
      await expect(driver.writer(path)).rejects.toBeInstanceOf(InvalidPathError);
      await expect(driver.move('/nothing', path)).rejects.toBeInstanceOf(InvalidPathError);
      await expect(driver.delete(path)).rejects.toBeInstanceOf(InvalidPathError);
    }
    expect(await readdir(outer)).toEqual(['root']);
    expect(await filesBelow(outer)).toEqual([]);

    // A name that merely starts with dots is an ordinary name, and stays inside.
    await driver.putContent('/..x/data', 'x');
    expect((await stat(join(root, '..x', 'data'))).isFile()).toBe(true);
    expect(await readdir(outer)).toEqual(['root']);
  });
});
