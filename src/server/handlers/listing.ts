import { parseDigest } from '../../oci/digest.js';
import { PaginationNumberInvalid } from '../../oci/errors.js';
import { paginate } from '../../registry/catalog.js';
import { jsonReply } from '../respond.js';
import type { Handler, RequestContext } from '../types.js';

/** Page size when a client asks for none; the CNCF registry uses the same default for the catalog. */
const MAX_PAGE = 10_000;

export const ping: Handler = async () => jsonReply(200, {});

export const catalog: Handler = async (ctx) => {
  // Filtered before paging, so pages stay full and `last` never points at a hidden name.
  const visible = (await ctx.registry.repositories()).filter((repo) => ctx.mayPull?.(repo) ?? true);
  const { page, more } = paginate(visible, pageSize(ctx), lastOf(ctx));
  return jsonReply(200, { repositories: page }, linkHeader('/v2/_catalog', page, more, pageSize(ctx)));
};

export const tagsList: Handler = async (ctx) => {
  const { page, more } = paginate(await ctx.registry.tags.list(ctx.repo), pageSize(ctx), lastOf(ctx));
  return jsonReply(200, { name: ctx.repo, tags: page }, linkHeader(`/v2/${ctx.repo}/tags/list`, page, more, pageSize(ctx)));
};

export const referrers: Handler = async ({ repo, param, query, registry }) => {
  const subject = parseDigest(param).value;
  const artifactType = query.get('artifactType') ?? undefined;
  const index = await registry.referrers.list(repo, subject, artifactType);
  const headers: Record<string, string> = { 'Content-Type': index.mediaType };
  if (artifactType !== undefined) headers['OCI-Filters-Applied'] = 'artifactType';
  return jsonReply(200, index, headers);
};

function pageSize({ query }: RequestContext): number | undefined {
  const n = query.get('n');
  if (n === null || n === '') return undefined;
  const value = Number(n);
  if (!Number.isInteger(value) || value < 0) {
    throw new PaginationNumberInvalid(`invalid page size n=${n}; expected a non-negative integer`);
  }
  return Math.min(value, MAX_PAGE);
}

function lastOf({ query }: RequestContext): string | undefined {
  return query.get('last') ?? undefined;
}

function linkHeader(path: string, page: string[], more: boolean, n: number | undefined): Record<string, string> {
  if (!more || n === undefined || page.length === 0) return {};
  const last = encodeURIComponent(page[page.length - 1]!);
  return { Link: `<${path}?last=${last}&n=${n}>; rel="next"` };
}
