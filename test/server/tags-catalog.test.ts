// Tag listing (end-8a/8b) and the catalog, with n/last pagination and Link headers.
import { beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, type OciErrorCode } from '../../src/oci/errors.js';
import { buildImage, uniqueRepo } from '../helpers/fixtures.js';
import {
  expectError,
  expectResponse,
  json,
  manifestPath,
  nextLink,
  pushImage,
  pushManifestOk,
  useRegistry,
  type RegistryContext,
} from '../helpers/http.js';
import { DRIVER_KINDS } from '../helpers/server.js';

// Lower-case only: the spec allows case-insensitive or ASCIIbetical order, which agree on these.
const TAGS = ['latest', 'v1', 'v1.0', 'v1.0.1', 'v10', 'v2', '1', '10', '2', 'a_b', 'a-b', 'a.b', 'zz'];
const SORTED = [...TAGS].sort();
const REPOS = ['alpha', 'alpha/beta', 'alpha/beta/gamma', 'alpha-beta', 'alpha.beta', 'b', 'zeta/x', '0-start'];
const SORTED_REPOS = [...REPOS].sort();

interface Paged {
  list: string;
  key: 'tags' | 'repositories';
  all: string[];
  /** A valid value that sorts strictly between the first and second of `all` and is not in it. */
  between: string;
}

/**
 * The pagination table, shared by the tags list and the catalog: `n` pages from the start, `last`
 * resumes after a value (which need not exist), and a Link to the next page is present exactly
 * when more remain.
 */
function paginationCases(page: () => Paged) {
  const p = (n?: number, last?: string) => {
    const q = new URLSearchParams();
    if (n !== undefined) q.set('n', String(n));
    if (last !== undefined) q.set('last', last);
    return q.toString() ? `?${q}` : '';
  };
  return [
    { name: 'no parameters: everything', query: () => p(), want: (all: string[]) => all, more: false },
    { name: 'n=2: the first two', query: () => p(2), want: (all: string[]) => all.slice(0, 2), more: true },
    { name: 'n=2&last=<2nd>: the next two', query: () => p(2, page().all[1]), want: (all: string[]) => all.slice(2, 4), more: true },
    { name: 'last only: everything after it', query: () => p(undefined, page().all[2]), want: (all: string[]) => all.slice(3), more: false },
    { name: 'n=total: everything, no Link', query: () => p(page().all.length), want: (all: string[]) => all, more: false },
    { name: 'n past the end: everything, no Link', query: () => p(1000), want: (all: string[]) => all, more: false },
    { name: 'n=2 on the last two: no Link', query: () => p(2, page().all.at(-3)), want: (all: string[]) => all.slice(-2), more: false },
    { name: 'last=<final value>: empty', query: () => p(5, page().all.at(-1)), want: () => [], more: false },
    { name: 'last between two values', query: () => p(3, page().between), want: (all: string[]) => all.slice(1, 4), more: true },
    { name: 'n=0: empty and no Link', query: () => p(0), want: () => [], more: false },
  ];
}

function describePagination(ctx: RegistryContext, page: () => Paged): void {
  it.each(paginationCases(page))('$name', async ({ query, want, more }) => {
    const { list, key, all } = page();
    const res = await ctx.http.get(`${list}${query()}`);
    expectResponse(res, { status: 200, headers: { 'content-type': /^application\/json\b/ } });
    expect(json<Record<string, string[]>>(res)[key]).toEqual(want(all));
    const link = nextLink(res);
    if (!more) {
      expect(link, `${res.request}: no Link when nothing remains`).toBeUndefined();
      return;
    }
    const url = new URL(link!, ctx.reg.url);
    const got = json<Record<string, string[]>>(res)[key]!;
    expect({ path: url.pathname, last: url.searchParams.get('last'), n: url.searchParams.get('n') }).toEqual({
      path: list,
      last: got.at(-1),
      n: new URLSearchParams(query()).get('n'),
    });
  });

  // A bad page size is the client's error (400); the code it carries must be one listed with 400.
  it.each(['-1', 'abc', '1.5'])('n=%s → 400 with an error code listed as 400', async (n) => {
    const res = await ctx.http.get(`${page().list}?n=${n}`);
    expectResponse(res, { status: 400 });
    const code = json<{ errors: { code: string }[] }>(res).errors[0]!.code;
    expect(ERROR_CODES[code as OciErrorCode]?.status, `${res.request} → ${code}`).toBe(400);
  });

  it('following Link from n=3 visits every value once, in order', async () => {
    const { list, key, all } = page();
    const seen: string[] = [];
    let next: string | undefined = `${list}?n=3`;
    for (let pages = 0; next && pages <= all.length; pages++) {
      const res = await ctx.http.get(next);
      expectResponse(res, { status: 200 });
      seen.push(...json<Record<string, string[]>>(res)[key]!);
      const link = nextLink(res);
      next = link && new URL(link, ctx.reg.url).pathname + new URL(link, ctx.reg.url).search;
    }
    expect(next, 'pagination did not end').toBeUndefined();
    expect(seen).toEqual(all);
  });
}

describe.each(DRIVER_KINDS)('%s driver: tags list', (driver) => {
  const ctx = useRegistry(driver);
  const repo = uniqueRepo('tags');

  beforeAll(async () => {
    const image = buildImage();
    await pushImage(ctx.http, repo, image);
    for (const tag of TAGS) await pushManifestOk(ctx.http, repo, tag, image.manifest);
  });

  it('lists {name, tags} in lexical order', async () => {
    const res = await ctx.http.get(`/v2/${repo}/tags/list`);
    expectResponse(res, { status: 200 });
    expect(json(res)).toEqual({ name: repo, tags: SORTED });
  });

  describePagination(ctx, () => ({ list: `/v2/${repo}/tags/list`, key: 'tags', all: SORTED, between: '1.' }));

  it('an unknown repository → 404 NAME_UNKNOWN', async () => {
    expectError(await ctx.http.get(`/v2/${uniqueRepo('nobody')}/tags/list`), 'NAME_UNKNOWN');
  });

  it('a repository whose only tag was deleted still answers 200 with an empty list', async () => {
    const other = uniqueRepo('tags');
    const image = buildImage();
    await pushImage(ctx.http, other, image, 'only');
    expectResponse(await ctx.http.send('DELETE', manifestPath(other, 'only')), { status: 202 });
    const res = await ctx.http.get(`/v2/${other}/tags/list`);
    expectResponse(res, { status: 200 });
    expect(json(res)).toEqual({ name: other, tags: [] });
  });
});

describe.each(DRIVER_KINDS)('%s driver: catalog', (driver) => {
  // A registry of its own: the catalog lists every repository on the server.
  const ctx = useRegistry(driver);

  beforeAll(async () => {
    for (const repo of REPOS) await pushImage(ctx.http, repo, buildImage({ layers: 1, layerSize: 16 }), 'latest');
  });

  it('lists {repositories} in lexical order', async () => {
    const res = await ctx.http.get('/v2/_catalog');
    expectResponse(res, { status: 200 });
    expect(json(res)).toEqual({ repositories: SORTED_REPOS });
  });

  describePagination(ctx, () => ({ list: '/v2/_catalog', key: 'repositories', all: SORTED_REPOS, between: '0-start0' }));
});
