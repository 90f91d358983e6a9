// The transport against real servers on 127.0.0.1: auth challenges, token reuse, retries, TLS trust
// and the one-line explanations of what went wrong.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RegistryClient } from '../../src/client/client.js';
import { clientHints, connect, type ConnectionOptions } from '../../src/client/connect.js';
import { DockerConfigStore, type Credentials } from '../../src/client/credentials.js';
import { AuthError, ConnectionError, TlsError } from '../../src/client/errors.js';
import { Transport, type TransportOptions } from '../../src/client/transport.js';
import { OciError } from '../../src/oci/errors.js';
import { freePort } from '../helpers/cncf-registry.js';
import { MT, encodeManifest, randomBlob, sha256 } from '../helpers/fixtures.js';
import { certify, type CertifiedKey } from '../helpers/tls.js';
import { startTokenServer, type TokenServer } from '../helpers/token-server.js';

interface TestServer {
  /** 127.0.0.1:PORT */
  host: string;
  /** "METHOD /path?query" of every request, in order. */
  hits: string[];
  close(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function serve(handler: RequestListener, tls?: CertifiedKey): Promise<TestServer> {
  const hits: string[] = [];
  const listener: RequestListener = (req, res) => {
    hits.push(`${req.method} ${req.url}`);
    handler(req, res);
  };
  const server = tls ? createHttpsServer({ key: tls.key, cert: tls.cert }, listener) : createHttpServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = async (): Promise<void> => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  cleanups.push(close);
  return { host: `127.0.0.1:${port}`, hits, close };
}

/** Backoff waits are recorded, not slept. */
function client(host: string, options: Partial<TransportOptions> & { waits?: number[] } = {}): RegistryClient {
  const { waits, ...rest } = options;
  const c = new RegistryClient({
    registry: host,
    scheme: 'http',
    sleep: async (ms) => void waits?.push(ms),
    ...rest,
  });
  cleanups.push(() => c.close());
  return c;
}

const credentials = (username: string, password: string) => async (): Promise<Credentials> => ({ username, password });

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

function ociError(res: ServerResponse, status: number, code: string, headers: Record<string, string> = {}): void {
  json(res, status, { errors: [{ code, message: `${code.toLowerCase()} (test)`, detail: { from: 'test' } }] }, headers);
}

const MANIFEST = encodeManifest(
  { schemaVersion: 2, mediaType: MT.ociManifest, config: { mediaType: MT.ociEmpty, digest: sha256('{}'), size: 2 }, layers: [] },
  MT.ociManifest,
);

function sendManifest(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': MANIFEST.mediaType, 'docker-content-digest': MANIFEST.digest }).end(MANIFEST.body);
}

describe('Basic auth', () => {
  let server: TestServer;
  const expected = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;

  beforeAll(async () => {
    server = await serve((req, res) => {
      if (req.headers.authorization === expected) return json(res, 200, {});
      ociError(res, 401, 'UNAUTHORIZED', { 'www-authenticate': 'Basic realm="test registry"' });
    });
  });

  it('answers the challenge with the credentials, then sends them up front', async () => {
    const c = client(server.host, { credentials: credentials('alice', 's3cret') });
    const before = server.hits.length;
    await c.ping();
    await c.ping();
    // One refused request to learn the challenge, then every request is authorised at once.
    expect(server.hits.length - before).toBe(3);
  });

  it('without credentials fails with the login hint', async () => {
    const err = await client(server.host).ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toContain(`regctl login ${server.host}`);
  });

  it('with a wrong password fails naming the user', async () => {
    const err = await client(server.host, { credentials: credentials('alice', 'wrong') })
      .ping()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toMatch(/refused the credentials for alice/);
  });
});

describe('blob redirects', () => {
  it('follows a blob GET to another origin, without sending the credentials there', async () => {
    const blob = randomBlob(4096);
    const cdnAuthorization: (string | undefined)[] = [];
    const cdn = await serve((req, res) => {
      cdnAuthorization.push(req.headers.authorization);
      res.writeHead(200, { 'content-length': String(blob.size) }).end(blob.data);
    });
    const expected = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
    const registry = await serve((req, res) => {
      if (req.headers.authorization !== expected) return ociError(res, 401, 'UNAUTHORIZED', { 'www-authenticate': 'Basic realm="r"' });
      res.writeHead(307, { location: `http://${cdn.host}/blobs/${blob.digest.slice(7)}?signature=abc` }).end();
    });
    const { size, stream } = await client(registry.host, { credentials: credentials('alice', 's3cret') }).getBlob('team/app', blob.digest);
    expect(size).toBe(blob.size);
    expect((await buffer(stream)).equals(blob.data)).toBe(true);
    expect(cdnAuthorization).toEqual([undefined]);
  });
});

/**
 * A registry that wants Bearer tokens from `tokens`: each route names the access it needs, and a
 * request without it gets the challenge for exactly that scope.
 */
function bearerRegistry(tokens: TokenServer): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://registry');
    const needed: string[] = [];
    let m: RegExpExecArray | null;
    if ((m = /^\/v2\/(.+)\/manifests\/[^/]+$/.exec(url.pathname))) needed.push(`repository:${m[1]}:pull`);
    else if ((m = /^\/v2\/(.+)\/blobs\/uploads\/$/.exec(url.pathname))) {
      needed.push(`repository:${m[1]}:push`);
      if (url.searchParams.has('from')) needed.push(`repository:${url.searchParams.get('from')}:pull`);
    } else if (url.pathname !== '/v2/') return ociError(res, 404, 'NOT_FOUND');
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const claims = token ? tokens.verify(token) : undefined;
    const allowed = (scope: string): boolean => {
      const [type, name, action] = scope.split(':');
      return Boolean(claims?.access.some((a) => a.type === type && a.name === name && a.actions.includes(action!)));
    };
    if (!claims || !needed.every(allowed)) {
      const scope = needed.length ? `,scope="${needed.join(' ')}"` : '';
      const error = token ? ',error="insufficient_scope"' : '';
      return ociError(res, 401, 'UNAUTHORIZED', { 'www-authenticate': `Bearer realm="${tokens.realm}",service="${tokens.service}"${scope}${error}` });
    }
    if (req.method === 'POST') return res.writeHead(201, { location: url.pathname, 'docker-content-digest': url.searchParams.get('mount') ?? '' }).end();
    if (url.pathname === '/v2/') return json(res, 200, {});
    sendManifest(res);
  };
}

describe('Bearer tokens', () => {
  const SERVICE = 'test-registry';
  const grants = [{ type: 'repository', name: 'team/*', actions: ['pull', 'push'] }];
  let tokens: TokenServer;
  let registry: TestServer;

  beforeAll(async () => {
    tokens = await startTokenServer({ service: SERVICE, users: { alice: { password: 's3cret', grants } } });
    cleanups.push(() => tokens.close());
    registry = await serve(bearerRegistry(tokens));
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('fetches a token for the service and scope, and reuses it for that scope', async () => {
    const c = client(registry.host, { credentials: credentials('alice', 's3cret') });
    const before = tokens.requests.length;
    const first = await c.getManifest('team/app', 'latest');
    expect(first.digest).toBe(MANIFEST.digest);
    await c.getManifest('team/app', 'v2');
    await c.headManifest('team/app', 'latest');
    expect(tokens.requests.slice(before)).toEqual([{ user: 'alice', service: SERVICE, scopes: ['repository:team/app:pull'] }]);

    await c.getManifest('team/other', 'latest');
    expect(tokens.requests.slice(before).map((r) => r.scopes)).toEqual([['repository:team/app:pull'], ['repository:team/other:pull']]);
  });

  it('fetches a new token once the old one has expired', async () => {
    const c = client(registry.host, { credentials: credentials('alice', 's3cret') });
    const before = tokens.requests.length;
    await c.getManifest('team/app', 'latest');
    const now = Date.now();
    // An hour on: past the 300 s the token server grants, for the client and the registry alike.
    vi.spyOn(Date, 'now').mockImplementation(() => now + 3_600_000);
    await c.getManifest('team/app', 'latest');
    expect(tokens.requests.length - before).toBe(2);
  });

  it('asks for each scope of a cross-repository mount in its own scope parameter', async () => {
    const c = client(registry.host, { credentials: credentials('alice', 's3cret') });
    const before = tokens.requests.length;
    expect(await c.mountBlob('team/app', MANIFEST.digest, 'team/base')).toBe(true);
    expect(tokens.requests.slice(before).at(-1)?.scopes).toEqual(['repository:team/app:pull,push', 'repository:team/base:pull']);
  });

  it.each(['access_token', 'token'] as const)('takes a token answered only as `%s`', async (fields) => {
    const only = await startTokenServer({ service: SERVICE, fields, users: { alice: { password: 's3cret', grants } } });
    cleanups.push(() => only.close());
    const reg = await serve(bearerRegistry(only));
    const c = client(reg.host, { credentials: credentials('alice', 's3cret') });
    expect((await c.getManifest('team/app', 'latest')).digest).toBe(MANIFEST.digest);
    expect(only.requests).toHaveLength(1);
  });

  it('with a wrong password fails naming the user, without asking the registry again', async () => {
    const c = client(registry.host, { credentials: credentials('alice', 'wrong') });
    const before = registry.hits.length;
    const err = await c.getManifest('team/app', 'latest').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toMatch(/refused the credentials for alice/);
    expect(registry.hits.length - before).toBe(1);
  });

  it('without credentials gets an anonymous token, and the refusal says to log in', async () => {
    const before = tokens.requests.length;
    const err = await client(registry.host)
      .getManifest('team/app', 'latest')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toContain(`regctl login ${registry.host}`);
    expect(tokens.requests.slice(before).every((r) => r.user === undefined)).toBe(true);
  });

  it('where the user lacks the scope, the refusal names the scope, not the password', async () => {
    const c = client(registry.host, { credentials: credentials('alice', 's3cret') });
    const err = await c.getManifest('elsewhere/app', 'latest').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toBe(`${registry.host} does not grant alice repository:elsewhere/app:pull`);
  });
});

/** Answers the n-th request with the n-th step; the last step repeats. */
function scripted(steps: ((res: ServerResponse, req: IncomingMessage) => void)[]): RequestListener {
  let n = 0;
  return (req, res) => steps[Math.min(n++, steps.length - 1)]!(res, req);
}

describe('retries', () => {
  const ok = (res: ServerResponse): void => json(res, 200, {});

  it('retries a 503 and succeeds', async () => {
    const server = await serve(scripted([(res) => ociError(res, 503, 'UNAVAILABLE'), ok]));
    const waits: number[] = [];
    await client(server.host, { waits }).ping();
    expect(server.hits).toHaveLength(2);
    expect(waits).toHaveLength(1);
  });

  it('retries a 429 after the Retry-After the server asks for', async () => {
    const server = await serve(scripted([(res) => ociError(res, 429, 'TOOMANYREQUESTS', { 'retry-after': '0' }), ok]));
    const waits: number[] = [];
    await client(server.host, { waits }).ping();
    expect(server.hits).toHaveLength(2);
    expect(waits).toEqual([0]);
  });

  it('gives up at once, with the registry\'s message, when Retry-After is longer than it would wait', async () => {
    const server = await serve(scripted([(res) => ociError(res, 429, 'TOOMANYREQUESTS', { 'retry-after': '56' }), ok]));
    const waits: number[] = [];
    const err = await client(server.host, { waits }).ping().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TOOMANYREQUESTS', message: 'toomanyrequests (test)' });
    expect(server.hits).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it('retries a connection the server drops', async () => {
    const server = await serve(scripted([(_res, req) => req.socket.destroy(), ok]));
    await client(server.host).ping();
    expect(server.hits).toHaveLength(2);
  });

  it('does not retry a 400', async () => {
    const server = await serve((_req, res) => ociError(res, 400, 'NAME_INVALID'));
    const err = await client(server.host).ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OciError);
    expect((err as OciError).code).toBe('NAME_INVALID');
    expect(server.hits).toHaveLength(1);
  });

  it('gives up after the configured number of retries, with growing waits', async () => {
    const server = await serve((_req, res) => ociError(res, 503, 'UNAVAILABLE'));
    const waits: number[] = [];
    const err = await client(server.host, { waits, retries: 2 })
      .ping()
      .catch((e: unknown) => e);
    expect((err as OciError).code).toBe('UNAVAILABLE');
    expect(server.hits).toHaveLength(3);
    expect(waits).toHaveLength(2);
    expect(waits[1]!).toBeGreaterThan(waits[0]!);
  });

  it('replays a streamed body on a retry', async () => {
    const received: string[] = [];
    const server = await serve((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d));
      req.on('end', () => {
        received.push(body);
        if (received.length === 1) ociError(res, 503, 'UNAVAILABLE');
        else res.writeHead(201).end();
      });
    });
    const transport = new Transport({ registry: server.host, scheme: 'http', sleep: async () => undefined });
    cleanups.push(() => transport.close());
    const res = await transport.request({ method: 'PUT', path: '/v2/x', body: () => Readable.from([Buffer.from('payload')]), expect: [201] });
    await res.body.dump();
    expect(received).toEqual(['payload', 'payload']);
  });
});

describe('registry errors', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await serve((req, res) => {
      if (req.url?.includes('/manifests/')) return ociError(res, 404, 'MANIFEST_UNKNOWN');
      if (req.url?.includes('/blobs/')) return ociError(res, 404, 'BLOB_UNKNOWN');
      if (req.url?.startsWith('/v2/_catalog')) return res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
      res.writeHead(400, { 'content-type': 'text/plain' }).end('Client sent an HTTP request to an HTTPS server.\n');
    });
  });

  it('decode into the OCI error of their code, with status, message and detail', async () => {
    const err = await client(server.host)
      .getManifest('team/app', 'missing')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OciError);
    expect(err).toMatchObject({ code: 'MANIFEST_UNKNOWN', status: 404, message: 'manifest_unknown (test)', detail: { from: 'test' } });
    await expect(client(server.host).getBlob('team/app', sha256('x'))).rejects.toMatchObject({ code: 'BLOB_UNKNOWN' });
  });

  it('without an OCI body become the error of their status', async () => {
    await expect(client(server.host).catalog()).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
  });

  it('"HTTP request to an HTTPS server" says to write https:// (the client was given http)', async () => {
    const err = await client(server.host).ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TlsError);
    expect((err as Error).message).toBe(`the registry serves HTTPS: write https://${server.host}`);
  });
});

describe('content that does not match its digest', () => {
  let server: TestServer;
  const served = randomBlob(2048);

  beforeAll(async () => {
    server = await serve((req, res) => {
      if (req.url?.includes('/manifests/')) return sendManifest(res);
      res.writeHead(200, { 'content-length': String(served.size) }).end(served.data);
    });
  });

  it('fails a blob stream at its end with DIGEST_INVALID', async () => {
    const wanted = sha256('other bytes');
    const { stream } = await client(server.host).getBlob('team/app', wanted);
    await expect(buffer(stream)).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
  });

  it('refuses a manifest fetched by another digest', async () => {
    await expect(client(server.host).getManifest('team/app', sha256('other bytes'))).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
    expect((await client(server.host).getManifest('team/app', MANIFEST.digest)).digest).toBe(MANIFEST.digest);
  });
});

describe('TLS and connections', () => {
  let dir: string;
  let ca: CertifiedKey;
  let caSigned: TestServer;
  let selfSigned: TestServer;
  let plain: TestServer;
  const ok: RequestListener = (_req, res) => json(res, 200, {});

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'regctl-client-tls-'));
    ca = await certify({ commonName: 'regctl test CA', ca: true });
    caSigned = await serve(ok, await certify({ commonName: '127.0.0.1', hosts: ['127.0.0.1'], issuer: ca }));
    selfSigned = await serve(ok, await certify({ commonName: '127.0.0.1', hosts: ['127.0.0.1'] }));
    plain = await serve(ok);
    await writeFile(join(dir, 'ca.crt'), ca.cert);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** connect() as the CLI calls it, with no Docker logins or CAs of the machine's. */
  async function connectTo(host: string, scheme: 'http' | 'https' | undefined, options: ConnectionOptions = {}): Promise<RegistryClient> {
    const c = await connect(host, scheme, {
      dockerConfig: new DockerConfigStore(join(dir, 'no-docker-config.json')),
      certsDir: join(dir, 'no-certs.d'),
      ...options,
    });
    cleanups.push(() => c.close());
    return c;
  }

  it('HTTPS to a plain HTTP server says to use --plain-http', async () => {
    const err = await (await connectTo(plain.host, 'https')).ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TlsError);
    expect((err as Error).message).toMatch(/plain HTTP.*--plain-http/);
  });

  it('plain HTTP to an HTTPS server names the way out that fits how plain HTTP was chosen', async () => {
    const ping = async (options: ConnectionOptions) => ((await (await connectTo(selfSigned.host, undefined, options)).ping().catch((e: unknown) => e)) as Error);
    // Loopback is plain HTTP by default: the user passed no --plain-http to drop.
    const byDefault = await ping({});
    expect(byDefault).toBeInstanceOf(ConnectionError);
    expect(byDefault.message).toContain(`(if it serves HTTPS, use https://${selfSigned.host})`);
    expect(byDefault.message).not.toMatch(/--plain-http/);
    expect((await ping({ plainHttp: true })).message).toContain(`drop --plain-http, or write https://${selfSigned.host}`);
  });

  it('login hints reach the registry the way the client did: scheme, --ca-file, --insecure', () => {
    expect(clientHints('127.0.0.1:15110', 'https', { caFile: 'ca.crt' }).login).toBe('regctl login https://127.0.0.1:15110 --ca-file ca.crt');
    expect(clientHints('127.0.0.1:15110', undefined).login).toBe('regctl login 127.0.0.1:15110');
    expect(clientHints('registry.example.com', undefined, { insecure: true }).login).toBe('regctl login registry.example.com --insecure');
    expect(clientHints('registry.example.com', undefined, { plainHttp: true }).login).toBe('regctl login http://registry.example.com');
  });

  it.each([
    ['signed by an unknown CA', () => caSigned],
    ['self-signed', () => selfSigned],
  ])('a certificate %s is refused with the --ca-file hint', async (_what, server) => {
    const err = await (await connectTo(server().host, 'https')).ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TlsError);
    expect((err as Error).message).toMatch(/unknown authority.*--ca-file/);
  });

  it('trusts the CA of --ca-file', async () => {
    await (await connectTo(caSigned.host, 'https', { caFile: join(dir, 'ca.crt') })).ping();
  });

  it("trusts Docker's certs.d/<host:port>/ca.crt", async () => {
    const certsDir = join(dir, 'certs.d');
    await mkdir(join(certsDir, caSigned.host), { recursive: true });
    await writeFile(join(certsDir, caSigned.host, 'ca.crt'), ca.cert);
    await (await connectTo(caSigned.host, 'https', { certsDir })).ping();
    // Only for that registry: another one signed by the same CA is not trusted through it.
    const other = await serve(ok, await certify({ commonName: '127.0.0.1', hosts: ['127.0.0.1'], issuer: ca }));
    await expect((await connectTo(other.host, 'https', { certsDir })).ping()).rejects.toBeInstanceOf(TlsError);
  });

  it('skips verification with insecure', async () => {
    await (await connectTo(selfSigned.host, 'https', { insecure: true })).ping();
  });

  it('uses plain HTTP for loopback registries and with plainHttp, HTTPS elsewhere', async () => {
    expect((await connectTo(plain.host, undefined)).origin).toBe(`http://${plain.host}`);
    expect((await connectTo('localhost:5000', undefined)).origin).toBe('http://localhost:5000');
    expect((await connectTo('registry.example:5000', undefined)).origin).toBe('https://registry.example:5000');
    expect((await connectTo('registry.example', undefined, { plainHttp: true })).origin).toBe('http://registry.example');
    await (await connectTo(plain.host, undefined)).ping();
  });

  it('connection refused on loopback says to start `regctl serve`', async () => {
    const port = (await freePort()) as number;
    const err = await (await connectTo(`127.0.0.1:${port}`, undefined)).ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).toMatch(/nothing is listening at 127\.0\.0\.1:\d+.*regctl serve/);
  });
});
