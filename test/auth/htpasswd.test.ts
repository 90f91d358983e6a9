import { describe, expect, it } from 'vitest';
import { hashFormat, hashPassword, parseHtpasswd, removeUser, setUser, validateUserName, verifyPassword } from '../../src/auth/htpasswd.js';

// bcrypt of "password" with Apache's $2y$ prefix ($2y$ and $2b$ are the same algorithm).
const BCRYPT = '$2y$05$4.FiAXZK7fcYCDwoXMhb/OwdoKMp2GqtfkCdIjrc3AQq4KhGOhrl2';

describe('htpasswd parsing', () => {
  it('accepts bcrypt entries and names the formats it refuses, with their lines', () => {
    const text = ['# users', 'alice:' + BCRYPT, '', 'bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=', 'carol:$apr1$abc$def', 'dave:plain', 'erin:$6$salt$hash'].join('\n');
    const parsed = parseHtpasswd(text);
    expect([...parsed.users.keys()]).toEqual(['alice']);
    expect(parsed.rejected.map((e) => [e.user, e.format, e.line])).toEqual([
      ['bob', 'SHA-1', 4],
      ['carol', 'apr1 (MD5)', 5],
      ['dave', 'plain text or unknown', 6],
      ['erin', 'SHA-512 crypt', 7],
    ]);
  });

  it('marks lines that are not user:hash, keeping their line numbers', () => {
    const parsed = parseHtpasswd(['garbage line', ':bar', 'alice:' + BCRYPT, 'two words:x'].join('\n'));
    expect(parsed.rejected.map((e) => [e.user, e.format, e.line])).toEqual([
      ['garbage line', 'not user:hash', 1],
      ['', 'not user:hash', 2],
      ['two words', 'not user:hash', 4],
    ]);
  });

  it('knows all three bcrypt prefixes', () => {
    for (const prefix of ['$2a$', '$2b$', '$2y$']) expect(hashFormat(prefix + BCRYPT.slice(4))).toBe('bcrypt');
    expect(hashFormat('$2x$' + BCRYPT.slice(4))).not.toBe('bcrypt');
  });

  it('adds, replaces and removes one line, keeping comments and other users', () => {
    let text = '# keep me\nbob:{SHA}x\n';
    const added = setUser(text, 'alice', 'h1');
    expect(added).toEqual({ text: '# keep me\nbob:{SHA}x\nalice:h1\n', replaced: false });
    text = setUser(added.text + 'alice:dup\n', 'alice', 'h2').text;
    expect(text).toBe('# keep me\nbob:{SHA}x\nalice:h2\n');
    expect(removeUser(text, 'bob')).toEqual({ text: '# keep me\nalice:h2\n', removed: true });
    expect(removeUser(text, 'nobody').removed).toBe(false);
  });

  it('refuses names an htpasswd line cannot hold', () => {
    expect(validateUserName('alice')).toBeUndefined();
    expect(validateUserName('a:b')).toMatch(/":"/);
    expect(validateUserName('a\nb')).toBeDefined();
    expect(validateUserName('')).toBeDefined();
  });

  it('hashes with bcrypt and verifies, including hashes from Apache htpasswd ($2y$)', async () => {
    const hash = await hashPassword('s3cret');
    expect(hashFormat(hash)).toBe('bcrypt');
    expect(await verifyPassword('s3cret', hash)).toBe(true);
    expect(await verifyPassword('wrong', hash)).toBe(false);
    expect(await verifyPassword('password', BCRYPT)).toBe(true);
  });
});
