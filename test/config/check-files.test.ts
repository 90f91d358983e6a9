import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFiles } from '../../src/config/check-files.js';
import { defaultServeConfig } from '../../src/config/defaults.js';
import type { ServeConfig } from '../../src/config/schema.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'regctl-check-files-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The defaults with the storage root and auth the test names. */
function config(root: string, auth: Partial<ServeConfig['auth']> = {}): ServeConfig {
  const base = defaultServeConfig({ HOME: dir });
  return { ...base, storage: { ...base.storage, driver: 'filesystem', rootDirectory: root }, auth: { ...base.auth, ...auth } };
}

const problems = async (c: ServeConfig): Promise<string[]> => (await checkFiles(c, (setting) => `<${setting}>`)).map((e) => e.message);

describe('checkFiles: what serve refuses about the files a config names', () => {
  it('accepts existing files and a root still to be made', async () => {
    const htpasswd = join(dir, 'users');
    await writeFile(htpasswd, '');
    expect(await problems(config(join(dir, 'new', 'root'), { htpasswd: { path: htpasswd } }))).toEqual([]);
  });

  it('a storage root that is a file, or lies under one', async () => {
    const file = join(dir, 'plain');
    await writeFile(file, 'x');
    expect(await problems(config(file))).toEqual([`<storage.filesystem.rootdirectory>: storage root ${file} is a file, not a directory; choose a directory`]);
    expect(await problems(config(join(file, 'a', 'b')))).toEqual([
      `<storage.filesystem.rootdirectory>: storage root ${join(file, 'a', 'b')} cannot be made: ${file} is a file, not a directory; choose another directory`,
    ]);
  });

  it('a token key serve would make is fine absent, not when it is a directory', async () => {
    const token = (keyFile: string): Partial<ServeConfig['auth']> => ({ token: { service: 's', issuer: 'i', keyFile, expirationMs: 1000 } });
    expect(await problems(config(dir, token(join(dir, 'absent.pem'))))).toEqual([]);
    const keyDir = join(dir, 'key-dir');
    await mkdir(keyDir);
    expect(await problems(config(dir, token(keyDir)))).toEqual([`<regctl.auth.token.key>: token signing key ${keyDir} is a directory, not a file; name the file itself`]);
  });

  // root reads any file, so only an unprivileged run can see this refusal.
  it.skipIf(process.getuid?.() === 0)('an unreadable rules file', async () => {
    const rules = join(dir, 'rules.yml');
    await writeFile(rules, 'rules: []\n');
    await chmod(rules, 0o000);
    expect(await problems(config(dir, { accessRulesFile: rules }))).toEqual([`<regctl.auth.accessrules>: cannot read access rules file ${rules} (EACCES); fix its permissions`]);
  });
});
