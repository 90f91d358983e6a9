import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { IssuedToken } from '../auth/tokens.js';
import type { TokenRequest } from '../auth/token-service.js';
import type { Registry } from '../registry/registry.js';
import type { MetricsSource } from './handlers/metrics.js';

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
  /** What GET /metrics renders, when the server has metrics. */
  metrics?: MetricsSource;
  /** With auth on: whether the caller may pull a repository (listings show only those). Absent = everything. */
  mayPull?: (repo: string) => boolean;
  /** With the token service on: checks the request's credentials and signs a token for it. */
  issueToken?: (request: TokenRequest) => Promise<IssuedToken>;
}

/** What a handler returns; server/app.ts writes it (and writes every error). */
export interface Reply {
  status: number;
  headers?: Record<string, string | number>;
  body?: Buffer | string | Readable;
}

export type Handler = (ctx: RequestContext) => Promise<Reply>;

/**
 * What a route does to the store: policies (read-only, deletes off) and permissions are decided from
 * this in one place instead of inside handlers. `public` answers without credentials even when auth
 * is on: the token service (which checks the credentials it is sent itself) and health checks.
 */
export type Access = 'read' | 'write' | 'delete' | 'admin' | 'public';
