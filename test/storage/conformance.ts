import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ContentTooLargeError,
  DEFAULT_MAX_CONTENT,
  InvalidOffsetError,
  InvalidPathError,
  PathNotFoundError,
  StorageError,
  type FileWriter,
  type StorageDriver,
  type WalkEntry,
} from '../../src/storage/driver.js';

const MiB = 1024 * 1024;

const INVALID_PATHS = [
  '',
  'a',
  'a/b',
  '/',
  '/a/',
  '//a',
  '/a//b',
  '/.',
  '/..',
  '/a/.',
  '/a/..',
  '/a/../b',
  '/../a',
  '/a/./b',
  '/a b',
  '/a\\b',
  '/a:b',
  '/a?b',
  '/a%2e',
  '/ä',
  '/a\nb',
  '/a\0b',
];

/** Writes the chunks with backpressure and waits until the stream has finished. */
async function writeAll(w: FileWriter, chunks: (Buffer | string)[]): Promise<void> {
  for (const chunk of chunks) {
    if (!w.stream.write(chunk)) await once(w.stream, 'drain');
  }
  w.stream.end();
  await finished(w.stream);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function text(driver: StorageDriver, path: string): Promise<string> {
  return (await driver.getContent(path)).toString('utf8');
}

/**
 * The contract every StorageDriver keeps, exercised only through the interface so that any backend
 * can run it. Whether an emptied directory lingers (a filesystem) or vanishes (an object store) is
 * left open: assertions about a directory's own existence use directories that hold an object.
 */
export function describeDriverConformance(
  name: string,
  makeDriver: () => Promise<{ driver: StorageDriver; cleanup(): Promise<void> }>,
): void {
  describe(`${name} driver conformance`, () => {
    let driver: StorageDriver;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ driver, cleanup } = await makeDriver());
    });

    afterEach(async () => {
      await cleanup();
    });

    describe('getContent and putContent', () => {
      it('round-trips a Buffer and a UTF-8 string', async () => {
        const bytes = randomBytes(1000);
        await driver.putContent('/a/bytes', bytes);
        expect((await driver.getContent('/a/bytes')).equals(bytes)).toBe(true);

        await driver.putContent('/a/text', 'héllo ✓');
        expect((await driver.getContent('/a/text')).equals(Buffer.from('héllo ✓', 'utf8'))).toBe(true);
      });

      it('stores an empty object', async () => {
        await driver.putContent('/a/empty', '');
        expect((await driver.getContent('/a/empty')).length).toBe(0);
        expect((await driver.stat('/a/empty')).size).toBe(0);
      });

      it('replaces an object, leaving nothing of a longer old value', async () => {
        await driver.putContent('/a/b', 'a long first value');
        await driver.putContent('/a/b', 'short');
        expect(await text(driver, '/a/b')).toBe('short');
        expect((await driver.stat('/a/b')).size).toBe(5);
      });

      it('keeps the stored object apart from the caller’s Buffers', async () => {
        const bytes = Buffer.from('original');
        await driver.putContent('/a/b', bytes);
        bytes.fill(0);
        const got = await driver.getContent('/a/b');
        got.fill(0);
        expect(await text(driver, '/a/b')).toBe('original');
      });

      it('throws PathNotFoundError for a missing object and for a directory', async () => {
        await driver.putContent('/a/b/c', 'x');
        await expect(driver.getContent('/a/missing')).rejects.toBeInstanceOf(PathNotFoundError);
        await expect(driver.getContent('/nowhere/at/all')).rejects.toBeInstanceOf(PathNotFoundError);
        await expect(driver.getContent('/a/b')).rejects.toBeInstanceOf(PathNotFoundError);
        await expect(driver.getContent('/a/b/c/d')).rejects.toBeInstanceOf(PathNotFoundError);
      });

      it('refuses content over maxBytes with ContentTooLargeError, and allows exactly maxBytes', async () => {
        await driver.putContent('/a/b', Buffer.alloc(100, 1));
        expect((await driver.getContent('/a/b', 100)).length).toBe(100);
        const err = await driver.getContent('/a/b', 99).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ContentTooLargeError);
        expect((err as ContentTooLargeError).maxBytes).toBe(99);
        expect((err as ContentTooLargeError).path).toBe('/a/b');
      });

      it('caps getContent at DEFAULT_MAX_CONTENT by default', async () => {
        await driver.putContent('/a/big', Buffer.alloc(DEFAULT_MAX_CONTENT + 1));
        await expect(driver.getContent('/a/big')).rejects.toBeInstanceOf(ContentTooLargeError);
        await driver.putContent('/a/fits', Buffer.alloc(DEFAULT_MAX_CONTENT));
        expect((await driver.getContent('/a/fits')).length).toBe(DEFAULT_MAX_CONTENT);
      });

      it('leaves exactly one complete value after many concurrent puts, and readers never see a mix', async () => {
        const values = Array.from({ length: 40 }, (_, i) => Buffer.alloc(64 * 1024 + i, i));
        await driver.putContent('/race/obj', values[0]!);
        const seen: Buffer[] = [];
        await Promise.all([
          ...values.map((v) => driver.putContent('/race/obj', v)),
          ...values.map(async () => seen.push(await driver.getContent('/race/obj'))),
        ]);
        const isOneOf = (b: Buffer) => values.some((v) => v.equals(b));
        expect(isOneOf(await driver.getContent('/race/obj'))).toBe(true);
        expect(seen.every(isOneOf)).toBe(true);
        expect(await driver.list('/race')).toEqual(['obj']);
      });
    });

    describe('paths', () => {
      const ops: [string, (d: StorageDriver, p: string) => Promise<unknown>][] = [
        ['getContent', (d, p) => d.getContent(p)],
        ['putContent', (d, p) => d.putContent(p, 'x')],
        ['reader', (d, p) => d.reader(p)],
        ['writer', (d, p) => d.writer(p)],
        ['append writer', (d, p) => d.writer(p, { append: true })],
        ['stat', (d, p) => d.stat(p)],
        ['list', (d, p) => d.list(p)],
        ['move from', (d, p) => d.move(p, '/ok/dest')],
        ['move to', (d, p) => d.move('/ok/source', p)],
        ['delete', (d, p) => d.delete(p)],
        ['walk', (d, p) => d.walk(p, () => expect.unreachable(`walk of ${JSON.stringify(p)} visited something`))],
      ];

      it.each(ops)('%s rejects invalid paths with InvalidPathError', async (_, op) => {
        await driver.putContent('/ok/source', 'kept');
        for (const path of INVALID_PATHS) {
          const err = await op(driver, path).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err, JSON.stringify(path)).toBeInstanceOf(InvalidPathError);
        }
        expect(await text(driver, '/ok/source')).toBe('kept');
        await expect(driver.stat('/ok/dest')).rejects.toBeInstanceOf(PathNotFoundError);
      });

      it('accepts every allowed character, including names with dots', async () => {
        const path = '/A-Z_a.z/0-9/...x/v1.tmp/.hidden';
        await driver.putContent(path, 'ok');
        expect(await text(driver, path)).toBe('ok');
      });

      it('treats a name ending in .tmp as an ordinary object', async () => {
        await driver.putContent('/t/v1.tmp', 'tag');
        await driver.putContent('/t/dir.tmp/x', 'x');
        expect(await driver.list('/t')).toEqual(['dir.tmp', 'v1.tmp']);
        const seen: string[] = [];
        await driver.walk('/t', (e) => void seen.push(e.path));
        expect(seen).toEqual(['/t/dir.tmp', '/t/dir.tmp/x', '/t/v1.tmp']);
      });
    });

    describe('writer', () => {
      it('is invisible before commit and visible after', async () => {
        await driver.putContent('/w/sibling', 's');
        const w = await driver.writer('/w/obj');
        await writeAll(w, ['hello ', Buffer.from('world')]);
        expect(w.size()).toBe(11);

        await expect(driver.stat('/w/obj')).rejects.toBeInstanceOf(PathNotFoundError);
        await expect(driver.getContent('/w/obj')).rejects.toBeInstanceOf(PathNotFoundError);
        await expect(driver.reader('/w/obj')).rejects.toBeInstanceOf(PathNotFoundError);
        expect(await driver.list('/w')).toEqual(['sibling']);
        const walked: string[] = [];
        await driver.walk('/w', (e) => void walked.push(e.path));
        expect(walked).toEqual(['/w/sibling']);

        await w.commit();
        expect(await text(driver, '/w/obj')).toBe('hello world');
        expect(await driver.list('/w')).toEqual(['obj', 'sibling']);
        expect((await driver.stat('/w/obj')).size).toBe(11);
      });

      it('keeps the old object readable until commit replaces it', async () => {
        await driver.putContent('/w/obj', 'old');
        const w = await driver.writer('/w/obj');
        await writeAll(w, ['new content']);
        expect(await text(driver, '/w/obj')).toBe('old');
        await w.commit();
        expect(await text(driver, '/w/obj')).toBe('new content');
      });

      it('commits an empty object', async () => {
        const w = await driver.writer('/w/empty');
        await writeAll(w, []);
        expect(w.size()).toBe(0);
        await w.commit();
        expect((await driver.stat('/w/empty')).size).toBe(0);
      });

      it('leaves nothing behind on cancel, and keeps an existing object', async () => {
        await driver.putContent('/w/sibling', 's');
        const w = await driver.writer('/w/obj');
        await writeAll(w, ['discard me']);
        await w.cancel();
        await expect(driver.stat('/w/obj')).rejects.toBeInstanceOf(PathNotFoundError);
        expect(await driver.list('/w')).toEqual(['sibling']);

        const w2 = await driver.writer('/w/sibling');
        await writeAll(w2, ['replacement']);
        await w2.cancel();
        expect(await text(driver, '/w/sibling')).toBe('s');
      });

      it('cancels a writer whose stream was never ended', async () => {
        const w = await driver.writer('/w/obj');
        w.stream.write('partial');
        await w.cancel();
        await expect(driver.stat('/w/obj')).rejects.toBeInstanceOf(PathNotFoundError);
      });

      it('refuses a second commit, and ignores cancel after commit', async () => {
        const w = await driver.writer('/w/obj');
        await writeAll(w, ['done']);
        await w.commit();
        await expect(w.commit()).rejects.toBeInstanceOf(StorageError);
        await w.cancel();
        expect(await text(driver, '/w/obj')).toBe('done');
      });

      it('lets concurrent writers to one path both commit, leaving one complete content', async () => {
        const a = Array.from({ length: 16 }, () => Buffer.alloc(64 * 1024, 'a'));
        const b = Array.from({ length: 16 }, () => Buffer.alloc(64 * 1024, 'b'));
        const [wa, wb] = await Promise.all([driver.writer('/w/obj'), driver.writer('/w/obj')]);
        for (let i = 0; i < a.length; i++) {
          wa.stream.write(a[i]);
          wb.stream.write(b[i]);
        }
        wa.stream.end();
        wb.stream.end();
        await Promise.all([finished(wa.stream), finished(wb.stream)]);
        await Promise.all([wa.commit(), wb.commit()]);
        const got = await driver.getContent('/w/obj', 2 * MiB);
        expect(got.equals(Buffer.concat(a)) || got.equals(Buffer.concat(b))).toBe(true);
        expect(await driver.list('/w')).toEqual(['obj']);
      });

      it('streams 64 MiB in 1 MiB chunks and reads back the same sha256', { timeout: 120_000 }, async () => {
        const written = createHash('sha256');
        let last = Buffer.alloc(0);
        const w = await driver.writer('/big/data');
        for (let i = 0; i < 64; i++) {
          last = randomBytes(MiB);
          written.update(last);
          if (!w.stream.write(last)) await once(w.stream, 'drain');
        }
        w.stream.end();
        await finished(w.stream);
        expect(w.size()).toBe(64 * MiB);
        await w.commit();
        expect((await driver.stat('/big/data')).size).toBe(64 * MiB);

        const read = createHash('sha256');
        for await (const chunk of await driver.reader('/big/data')) read.update(chunk as Buffer);
        expect(read.digest('hex')).toBe(written.digest('hex'));

        const tail = await readAll(await driver.reader('/big/data', { offset: 63 * MiB + 5 }));
        expect(tail.equals(last.subarray(5))).toBe(true);
        const middle = await readAll(await driver.reader('/big/data', { offset: 63 * MiB + 10, end: 63 * MiB + 19 }));
        expect(middle.equals(last.subarray(10, 20))).toBe(true);
      });
    });

    describe('append writer', () => {
      it('adds to existing data; size() counts old and new bytes', async () => {
        await driver.putContent('/up/data', 'abc');
        const w = await driver.writer('/up/data', { append: true });
        expect(w.size()).toBe(3);
        await writeAll(w, ['def', Buffer.from('gh')]);
        expect(w.size()).toBe(8);
        await w.commit();
        expect(await text(driver, '/up/data')).toBe('abcdefgh');
        expect((await driver.stat('/up/data')).size).toBe(8);
      });

      it('creates a missing object', async () => {
        const w = await driver.writer('/up/new', { append: true });
        expect(w.size()).toBe(0);
        await writeAll(w, ['first']);
        await w.commit();
        expect(await text(driver, '/up/new')).toBe('first');
      });

      it('resumes over several writers, as a chunked upload does', async () => {
        const parts = ['one,', 'two,', 'three'];
        for (const part of parts) {
          const w = await driver.writer('/up/data', { append: true });
          await writeAll(w, [part]);
          await w.commit();
        }
        expect(await text(driver, '/up/data')).toBe('one,two,three');
      });

      it('rolls back to the size at open on cancel', async () => {
        await driver.putContent('/up/data', 'abc');
        const w = await driver.writer('/up/data', { append: true });
        await writeAll(w, ['def']);
        await w.cancel();
        expect(await text(driver, '/up/data')).toBe('abc');
        expect((await driver.stat('/up/data')).size).toBe(3);

        const again = await driver.writer('/up/data', { append: true });
        expect(again.size()).toBe(3);
        await writeAll(again, ['xyz']);
        await again.commit();
        expect(await text(driver, '/up/data')).toBe('abcxyz');
      });
    });

    describe('reader', () => {
      beforeEach(async () => {
        await driver.putContent('/r/obj', '0123456789');
      });

      const read = async (range?: { offset?: number; end?: number }) =>
        (await readAll(await driver.reader('/r/obj', range))).toString('utf8');

      it('reads the whole object, from an offset, and between offset and end inclusive', async () => {
        expect(await read()).toBe('0123456789');
        expect(await read({ offset: 3 })).toBe('3456789');
        expect(await read({ offset: 3, end: 5 })).toBe('345');
        expect(await read({ offset: 4, end: 4 })).toBe('4');
        expect(await read({ end: 2 })).toBe('012');
        expect(await read({ offset: 3, end: 99 })).toBe('3456789');
      });

      it('gives an empty stream at offset == size', async () => {
        expect(await read({ offset: 10 })).toBe('');
      });

      it('throws InvalidOffsetError past the end, for a negative offset and for end before offset', async () => {
        const err = await driver.reader('/r/obj', { offset: 11 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InvalidOffsetError);
        expect((err as InvalidOffsetError).offset).toBe(11);
        await expect(driver.reader('/r/obj', { offset: -1 })).rejects.toBeInstanceOf(InvalidOffsetError);
        await expect(driver.reader('/r/obj', { offset: 5, end: 4 })).rejects.toBeInstanceOf(InvalidOffsetError);
      });

      it('throws PathNotFoundError for a missing object and for a directory', async () => {
        await driver.putContent('/r/dir/x', 'x');
        await expect(driver.reader('/r/missing')).rejects.toBeInstanceOf(PathNotFoundError);
        await expect(driver.reader('/r/missing', { offset: 0 })).rejects.toBeInstanceOf(PathNotFoundError);
        await expect(driver.reader('/r/dir')).rejects.toBeInstanceOf(PathNotFoundError);
      });

      it('reads the old content or the new, never a mix, when the object is replaced meanwhile', async () => {
        const oldValue = Buffer.alloc(3 * MiB, 'o');
        const newValue = Buffer.alloc(3 * MiB, 'n');
        await driver.putContent('/r/big', oldValue);
        const stream = await driver.reader('/r/big');
        await driver.putContent('/r/big', newValue);
        const got = await readAll(stream);
        expect(got.equals(oldValue) || got.equals(newValue)).toBe(true);
      });
    });

    describe('stat', () => {
      it('describes an object', async () => {
        const before = Date.now();
        await driver.putContent('/s/obj', 'twelve bytes');
        const info = await driver.stat('/s/obj');
        expect(info).toMatchObject({ path: '/s/obj', size: 12, isDir: false });
        expect(info.modTime).toBeInstanceOf(Date);
        // Filesystem clocks are coarse: allow a little either side.
        expect(info.modTime.getTime()).toBeGreaterThanOrEqual(before - 1000);
        expect(info.modTime.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
      });

      it('describes a directory with size 0', async () => {
        await driver.putContent('/s/dir/deeper/obj', 'x');
        expect(await driver.stat('/s/dir')).toMatchObject({ path: '/s/dir', size: 0, isDir: true });
        expect(await driver.stat('/s/dir/deeper')).toMatchObject({ isDir: true, size: 0 });
      });

      it('throws PathNotFoundError for a missing path', async () => {
        await driver.putContent('/s/obj', 'x');
        await expect(driver.stat('/s/missing')).rejects.toBeInstanceOf(PathNotFoundError);
        await expect(driver.stat('/s/obj/below')).rejects.toBeInstanceOf(PathNotFoundError);
      });
    });

    describe('list', () => {
      it('gives the sorted names of direct children, objects and directories alike', async () => {
        for (const path of ['/l/b/deep/x', '/l/a', '/l/C', '/l/_x/y', '/l/10', '/l/9', '/l/ab']) {
          await driver.putContent(path, 'x');
        }
        expect(await driver.list('/l')).toEqual(['10', '9', 'C', '_x', 'a', 'ab', 'b']);
        expect(await driver.list('/l/b')).toEqual(['deep']);
      });

      it('throws PathNotFoundError for a missing directory and for an object', async () => {
        await driver.putContent('/l/obj', 'x');
        await expect(driver.list('/nowhere')).rejects.toBeInstanceOf(PathNotFoundError);
        await expect(driver.list('/l/obj')).rejects.toBeInstanceOf(PathNotFoundError);
      });
    });

    describe('move', () => {
      it('moves an object to a new directory', async () => {
        await driver.putContent('/m/src', 'payload');
        await driver.move('/m/src', '/n/deep/dst');
        expect(await text(driver, '/n/deep/dst')).toBe('payload');
        await expect(driver.stat('/m/src')).rejects.toBeInstanceOf(PathNotFoundError);
      });

      it('replaces the destination and removes the source', async () => {
        await driver.putContent('/m/src', 'new');
        await driver.putContent('/m/dst', 'the old, longer content');
        await driver.move('/m/src', '/m/dst');
        expect(await text(driver, '/m/dst')).toBe('new');
        expect((await driver.stat('/m/dst')).size).toBe(3);
        expect(await driver.list('/m')).toEqual(['dst']);
      });

      it('throws PathNotFoundError for a missing source and leaves the destination alone', async () => {
        await driver.putContent('/m/dst', 'kept');
        await expect(driver.move('/m/missing', '/m/dst')).rejects.toBeInstanceOf(PathNotFoundError);
        expect(await text(driver, '/m/dst')).toBe('kept');
      });
    });

    describe('delete', () => {
      it('deletes an object and nothing else', async () => {
        await driver.putContent('/d/obj', 'x');
        await driver.putContent('/d/other', 'y');
        await driver.delete('/d/obj');
        await expect(driver.stat('/d/obj')).rejects.toBeInstanceOf(PathNotFoundError);
        expect(await driver.list('/d')).toEqual(['other']);
      });

      it('deletes a whole subtree, but not a sibling whose name shares its prefix', async () => {
        for (const path of ['/d/sub/a', '/d/sub/b/c', '/d/sub2/x', '/d/sub.x', '/d/keep']) {
          await driver.putContent(path, 'x');
        }
        await driver.delete('/d/sub');
        for (const path of ['/d/sub', '/d/sub/a', '/d/sub/b', '/d/sub/b/c']) {
          await expect(driver.stat(path)).rejects.toBeInstanceOf(PathNotFoundError);
        }
        expect(await driver.list('/d')).toEqual(['keep', 'sub.x', 'sub2']);
        expect(await text(driver, '/d/sub2/x')).toBe('x');
      });

      it('throws PathNotFoundError when nothing is there', async () => {
        await driver.putContent('/d/obj', 'x');
        await expect(driver.delete('/d/missing')).rejects.toBeInstanceOf(PathNotFoundError);
        await expect(driver.delete('/nowhere')).rejects.toBeInstanceOf(PathNotFoundError);
        await driver.delete('/d/obj');
        await expect(driver.delete('/d/obj')).rejects.toBeInstanceOf(PathNotFoundError);
      });
    });

    describe('walk', () => {
      beforeEach(async () => {
        for (const path of ['/w/b/x/deep', '/w/a/2', '/w/a/1', '/w/_u/data', '/w/B', '/w/10', '/w/9']) {
          await driver.putContent(path, 'x');
        }
      });

      const all = [
        { path: '/w/10', isDir: false },
        { path: '/w/9', isDir: false },
        { path: '/w/B', isDir: false },
        { path: '/w/_u', isDir: true },
        { path: '/w/_u/data', isDir: false },
        { path: '/w/a', isDir: true },
        { path: '/w/a/1', isDir: false },
        { path: '/w/a/2', isDir: false },
        { path: '/w/b', isDir: true },
        { path: '/w/b/x', isDir: true },
        { path: '/w/b/x/deep', isDir: false },
      ];

      it('visits everything below, depth first in sorted order', async () => {
        const seen: WalkEntry[] = [];
        await driver.walk('/w', (e) => void seen.push(e));
        expect(seen).toEqual(all);

        const below: string[] = [];
        await driver.walk('/w/b', (e) => void below.push(e.path));
        expect(below).toEqual(['/w/b/x', '/w/b/x/deep']);
      });

      it("does not descend where the visitor returns 'skip', also from an async visitor", async () => {
        const seen: string[] = [];
        await driver.walk('/w', async (e) => {
          seen.push(e.path);
          await new Promise((resolve) => setImmediate(resolve));
          return e.path === '/w/a' || e.path === '/w/_u' ? 'skip' : undefined;
        });
        expect(seen).toEqual(['/w/10', '/w/9', '/w/B', '/w/_u', '/w/a', '/w/b', '/w/b/x', '/w/b/x/deep']);
      });

      it('lets the visitor delete what it visits', async () => {
        const seen: string[] = [];
        await driver.walk('/w', async (e) => {
          seen.push(e.path);
          if (e.path === '/w/a') await driver.delete('/w/a');
        });
        expect(seen).toEqual(all.map((e) => e.path).filter((p) => !p.startsWith('/w/a/')));
        await expect(driver.stat('/w/a')).rejects.toBeInstanceOf(PathNotFoundError);
      });

      it('passes on an error thrown by the visitor', async () => {
        const boom = new Error('boom');
        await expect(
          driver.walk('/w', () => {
            throw boom;
          }),
        ).rejects.toBe(boom);
      });

      it('throws PathNotFoundError for a missing directory and for an object', async () => {
        await expect(driver.walk('/nowhere', () => undefined)).rejects.toBeInstanceOf(PathNotFoundError);
        await expect(driver.walk('/w/B', () => undefined)).rejects.toBeInstanceOf(PathNotFoundError);
      });
    });
  });
}
