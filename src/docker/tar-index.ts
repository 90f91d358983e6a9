import { open } from 'node:fs/promises';

/** One member of a tar file: where its bytes lie in the file, without reading them. */
export interface TarEntry {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  /** Byte offset of the contents in the tar file. */
  offset: number;
  size: number;
  linkname?: string;
}

/** The file is not a tar, or it ends before its last member does. */
export class TarFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarFormatError';
  }
}

const BLOCK = 512;
// pax and GNU long-name records are a few hundred bytes; more is not a name but a corrupt header.
const MAX_META_BYTES = 1024 * 1024;
const TYPES: Record<string, TarEntry['type']> = { '0': 'file', '\0': 'file', '7': 'file', '5': 'directory', '2': 'symlink', '1': 'hardlink' };

/**
 * Lists the members of a tar file by reading only its headers (ustar, pax and GNU long names), so
 * an archive's contents can be streamed straight from their place in it: nothing is copied out,
 * and a member is read once, when it is used. A truncated file fails here, before anything is read.
 */
export async function indexTar(path: string): Promise<TarEntry[]> {
  const file = await open(path, 'r');
  try {
    const { size: fileSize } = await file.stat();
    const read = async (position: number, length: number): Promise<Buffer> => {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await file.read(buf, 0, length, position);
      if (bytesRead < length) throw new TarFormatError(`it ends at byte ${fileSize}, inside a member (truncated?)`);
      return buf;
    };
    const entries: TarEntry[] = [];
    let pending: { path?: string; linkpath?: string; size?: number } = {};
    for (let position = 0; ; ) {
      if (position + BLOCK > fileSize) throw new TarFormatError(`it ends at byte ${fileSize} without the end-of-archive marker (truncated?)`);
      const header = await read(position, BLOCK);
      if (header.every((b) => b === 0)) return entries;
      checkChecksum(header, position);
      const typeflag = String.fromCharCode(header[156]!);
      const size = pending.size ?? parseNumber(header.subarray(124, 136), position);
      const offset = position + BLOCK;
      if (offset + size > fileSize) throw new TarFormatError(`it ends at byte ${fileSize}, inside the member at byte ${position} (truncated?)`);
      position = offset + Math.ceil(size / BLOCK) * BLOCK;
      if (typeflag === 'x' || typeflag === 'L' || typeflag === 'K') {
        if (size > MAX_META_BYTES) throw new TarFormatError(`the header record at byte ${offset - BLOCK} claims ${size} bytes`);
        const body = await read(offset, size);
        if (typeflag === 'x') pending = { ...pending, ...parsePax(body) };
        else if (typeflag === 'L') pending.path = cString(body);
        else pending.linkpath = cString(body);
        continue;
      }
      if (typeflag === 'g') continue;
      const prefix = cString(header.subarray(345, 500));
      const ustar = header.subarray(257, 262).toString('latin1') === 'ustar';
      const name = pending.path ?? (ustar && prefix ? `${prefix}/${cString(header.subarray(0, 100))}` : cString(header.subarray(0, 100)));
      const linkname = pending.linkpath ?? cString(header.subarray(157, 257));
      entries.push({ name, type: TYPES[typeflag] ?? 'other', offset, size, ...(linkname && { linkname }) });
      pending = {};
    }
  } finally {
    await file.close();
  }
}

function checkChecksum(header: Buffer, position: number): void {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  if (sum !== parseNumber(header.subarray(148, 156), position)) throw new TarFormatError(`the header at byte ${position} is corrupt (checksum mismatch)`);
}

/** Octal text, or GNU base-256 for sizes past 8 GiB. */
function parseNumber(field: Buffer, position: number): number {
  if (field[0]! & 0x80) {
    let value = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    return value;
  }
  const text = field.toString('latin1').replace(/[\0 ]+$/, '').trim();
  if (!/^[0-7]*$/.test(text)) throw new TarFormatError(`the header at byte ${position} is not a tar header`);
  return text ? parseInt(text, 8) : 0;
}

function cString(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.subarray(0, end === -1 ? buf.length : end).toString('utf8');
}

/** pax records are "<length> <key>=<value>\n"; regctl needs the name, link target and size. */
function parsePax(body: Buffer): { path?: string; linkpath?: string; size?: number } {
  const out: { path?: string; linkpath?: string; size?: number } = {};
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(0x20, at);
    const length = Number(body.subarray(at, space).toString('latin1'));
    if (space === -1 || !Number.isInteger(length) || length <= 0) break;
    const record = body.subarray(space + 1, at + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    if (key === 'path') out.path = value;
    else if (key === 'linkpath') out.linkpath = value;
    else if (key === 'size') out.size = Number(value);
    at += length;
  }
  return out;
}
