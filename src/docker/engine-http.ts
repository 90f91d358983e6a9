import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';

/** An HTTP error answer of the Engine API, shaped as translateEngineError reads it. */
export class EngineHttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly json: { message?: string } | null,
  ) {
    super(`HTTP ${statusCode}: ${json?.message ?? 'no message'}`);
    this.name = 'EngineHttpError';
  }
}

export interface EngineCall {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string | undefined>;
  headers?: Record<string, string>;
}

/**
 * The Engine API over node:http: the handful of calls regctl makes need no client library, and
 * dockerode (with gRPC, protobuf and SSH behind it) cost every push a fifth of a second to load.
 */
export class EngineHttp {
  private readonly base: RequestOptions;
  private readonly send: typeof httpRequest;

  constructor(host: string, env: NodeJS.ProcessEnv) {
    // No keep-alive: an idle pooled socket would hold the process open after the last call.
    if (host.startsWith('unix://')) {
      this.base = { socketPath: host.slice('unix://'.length), agent: new HttpAgent({ keepAlive: false }) };
      this.send = httpRequest;
      return;
    }
    const tls = Boolean(env.DOCKER_TLS_VERIFY);
    const url = new URL(host.replace(/^tcp:/, tls ? 'https:' : 'http:'));
    const port = url.port || (tls ? '2376' : '2375');
    if (!tls) {
      this.base = { host: url.hostname, port, agent: new HttpAgent({ keepAlive: false }) };
      this.send = httpRequest;
      return;
    }
    const certs = env.DOCKER_CERT_PATH || join(env.HOME ?? '', '.docker');
    const agent = new HttpsAgent({
      keepAlive: false,
      ca: readFileSync(join(certs, 'ca.pem')),
      cert: readFileSync(join(certs, 'cert.pem')),
      key: readFileSync(join(certs, 'key.pem')),
    });
    this.base = { host: url.hostname, port, agent };
    this.send = httpsRequest as typeof httpRequest;
  }

  /** The body of a 2xx answer as a stream (progress, a saved image); any other status throws. */
  stream(call: EngineCall): Promise<IncomingMessage> {
    const query = new URLSearchParams(Object.entries(call.query ?? {}).filter((e): e is [string, string] => e[1] !== undefined)).toString();
    return new Promise((resolve, reject) => {
      const req = this.send({ ...this.base, method: call.method, path: `${call.path}${query ? `?${query}` : ''}`, headers: call.headers }, (res) => {
        if ((res.statusCode ?? 0) < 300) return resolve(res);
        text(res).then((body) => reject(new EngineHttpError(res.statusCode ?? 0, parseMessage(body))), reject);
      });
      req.once('error', reject);
      req.end();
    });
  }

  async json<T>(call: EngineCall): Promise<T> {
    return JSON.parse(await text(await this.stream(call))) as T;
  }
}

function parseMessage(body: string): { message?: string } | null {
  try {
    return JSON.parse(body) as { message?: string };
  } catch {
    return body.trim() ? { message: body.trim() } : null;
  }
}
