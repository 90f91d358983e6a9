import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { Registry } from '../registry/registry.js';

/** What a handler sees: the parsed request, never the raw response. */
export interface RequestContext {
  method: string;
  /** Repository name, validated. Empty for routes without one. */
  repo: string;
  /** The path parameter after the repository: reference, digest or upload id. */
  param: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  registry: Registry;
  /** Whether the server refuses writes; handlers of admin operations need to know. */
  readOnly: boolean;
}

/** What a handler returns; server/app.ts writes it (and writes every error). */
export interface Reply {
  status: number;
  headers?: Record<string, string | number>;
  body?: Buffer | string | Readable;
}

export type Handler = (ctx: RequestContext) => Promise<Reply>;

/**
 * What a route does to the store: policies (read-only, deletes off) are decided from this in one
 * place instead of inside handlers.
 */
export type Access = 'read' | 'write' | 'delete' | 'admin';
