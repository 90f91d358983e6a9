// The tar header reader behind push --archive, against archives written by tar-stream and GNU tar.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexArchive } from '../../src/docker/archive.js';
import { indexTar, TarFormatError } from '../../src/docker/tar-index.js';
import { run } from '../helpers/interop.js';

describe('indexTar', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'regctl-tar-index-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const longName = `${'d'.repeat(120)}/${'f'.repeat(110)}.bin`;

  it('finds every member with its contents in place, long pax names and links included', async () => {
    const tar = pack();
    tar.entry({ name: 'a.txt' }, 'alpha');
    tar.entry({ name: 'empty' }, '');
    tar.entry({ name: longName }, 'long');
    tar.entry({ name: 'dir', type: 'directory' });
    tar.entry({ name: 'dir/link', type: 'symlink', linkname: '../a.txt' });
    tar.entry({ name: 'hard', type: 'link', linkname: 'a.txt' });
    tar.finalize();
    const file = join(dir, 'stream.tar');
    await writeFile(file, await buffer(tar));

    const files = await indexArchive(file);
    const read = async (name: string) => (await buffer(files.get(name)!.open())).toString();
    expect(await read('a.txt')).toBe('alpha');
    expect(await read('empty')).toBe('');
    expect(await read(longName)).toBe('long');
    expect(await read('dir/link')).toBe('alpha');
    expect(await read('hard')).toBe('alpha');
    expect((await indexTar(file)).map((e) => e.type)).toEqual(['file', 'file', 'file', 'directory', 'symlink', 'hardlink']);
  });

  it('reads the GNU long-name records GNU tar writes', async () => {
    const src = join(dir, 'gnu-src');
    await mkdir(join(src, 'd'.repeat(120)), { recursive: true });
    await writeFile(join(src, longName), 'gnu');
    const file = join(dir, 'gnu.tar');
    await run('tar', ['--format=gnu', '-C', src, '-cf', file, longName]);
    expect(await buffer((await indexArchive(file)).get(longName)!.open())).toEqual(Buffer.from('gnu'));
  });

  it('refuses a corrupt header', async () => {
    const tar = pack();
    tar.entry({ name: 'a.txt' }, 'alpha');
    tar.finalize();
    const bytes = await buffer(tar);
    bytes[3] ^= 0xff;
    const file = join(dir, 'corrupt.tar');
    await writeFile(file, bytes);
    await expect(indexTar(file)).rejects.toThrow(new TarFormatError('the header at byte 0 is corrupt (checksum mismatch)'));
  });
});
