import { readFile } from 'node:fs/promises';
import bcrypt from 'bcryptjs';

export interface HtpasswdEntry {
  user: string;
  hash: string;
  /** 1-based, for warnings that point at the line. */
  line: number;
  /** 'bcrypt' is the only format regctl accepts; the others are named so the warning can say which. */
  format: HashFormat;
}

/** `not user:hash`: the line itself is broken (no `:`, an empty name, or a name with spaces). */
export type HashFormat = 'bcrypt' | 'apr1 (MD5)' | 'SHA-1' | 'SHA-256 crypt' | 'SHA-512 crypt' | 'crypt (DES)' | 'plain text or unknown' | 'not user:hash';

export interface Htpasswd {
  /** Accepted (bcrypt) entries by user; a later line for the same user wins, as in Apache. */
  users: Map<string, string>;
  /** Entries regctl will not accept: their users cannot log in. */
  rejected: HtpasswdEntry[];
  entries: HtpasswdEntry[];
}

/** Blank lines and `#` comments are skipped, `user:hash` lines kept; pure, for tests and reloads alike. */
export function parseHtpasswd(text: string): Htpasswd {
  const entries: HtpasswdEntry[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const parsed = splitLine(raw);
    if (!parsed) return;
    const broken = parsed.hash === undefined || validateUserName(parsed.user) !== undefined;
    entries.push({ user: parsed.user, hash: parsed.hash ?? '', line: index + 1, format: broken ? 'not user:hash' : hashFormat(parsed.hash!) });
  });
  const users = new Map<string, string>();
  for (const e of entries) if (e.format === 'bcrypt') users.set(e.user, e.hash);
  return { users, rejected: entries.filter((e) => e.format !== 'bcrypt'), entries };
}

export function hashFormat(hash: string): HashFormat {
  if (/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) return 'bcrypt';
  if (hash.startsWith('$apr1$')) return 'apr1 (MD5)';
  if (hash.startsWith('{SHA}')) return 'SHA-1';
  if (hash.startsWith('$5$')) return 'SHA-256 crypt';
  if (hash.startsWith('$6$')) return 'SHA-512 crypt';
  if (/^[./A-Za-z0-9]{13}$/.test(hash)) return 'crypt (DES)';
  return 'plain text or unknown';
}

/** Adds or replaces one user's line; comments and every other line stay as they were. */
export function setUser(text: string, user: string, hash: string): { text: string; replaced: boolean } {
  const lines = contentLines(text);
  const at = lines.findIndex((l) => lineUser(l) === user);
  if (at === -1) return { text: joinLines([...lines, `${user}:${hash}`]), replaced: false };
  lines[at] = `${user}:${hash}`;
  return { text: joinLines(lines.filter((l, i) => i <= at || lineUser(l) !== user)), replaced: true };
}

export function removeUser(text: string, user: string): { text: string; removed: boolean } {
  const lines = contentLines(text);
  const kept = lines.filter((l) => lineUser(l) !== user);
  return { text: joinLines(kept), removed: kept.length !== lines.length };
}

/** htpasswd files cannot hold a `:` or a line break in a name; the registry's names are also printable. */
export function validateUserName(user: string): string | undefined {
  if (user === '') return 'the user name is empty';
  if (/[:\s]/.test(user) || /[\u0000-\u001f\u007f]/.test(user)) return `the user name "${user}" may not contain ":", spaces or control characters`;
  if (user.length > 255) return 'the user name is longer than 255 characters';
  return undefined;
}

// 10 rounds: the CNCF registry and `htpasswd -B -C 10` interoperate; verifications are cached by the server.
const BCRYPT_ROUNDS = 10;

export function hashPassword(password: string): Promise<string> {
  return bcrypt.hash(password, BCRYPT_ROUNDS);
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return bcrypt.compare(password, hash);
}

/** The file's text; a missing file is an empty one (no users yet). */
export async function readHtpasswdFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

function contentLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

function joinLines(lines: string[]): string {
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** hash undefined = the line has no `:`. */
function splitLine(raw: string): { user: string; hash?: string } | undefined {
  const line = raw.trim();
  if (line === '' || line.startsWith('#')) return undefined;
  const colon = line.indexOf(':');
  return colon === -1 ? { user: line } : { user: line.slice(0, colon), hash: line.slice(colon + 1) };
}

function lineUser(line: string): string | undefined {
  return splitLine(line)?.user;
}
