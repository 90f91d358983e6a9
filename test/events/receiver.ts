// A real webhook receiver on loopback: records every delivery and answers as a test tells it to
// (slowly, with errors, or not at all once stopped).
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Envelope, RegistryEvent } from '../../src/events/event.js';

export interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  envelope: Envelope;
}

export interface ReceiverBehaviour {
  /** Status to answer the n-th delivery (0-based); default 200. */
  status?: (n: number) => number;
  /** Pause before answering. */
  delayMs?: number;
}

export class Receiver {
  readonly received: Received[] = [];
  /** Every delivery, accepted or not. */
  attempts = 0;
  private server: Server | undefined;
  private port = 0;
  private waiters: (() => void)[] = [];

  constructor(private behaviour: ReceiverBehaviour = {}) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/events`;
  }

  get events(): RegistryEvent[] {
    return this.received.flatMap((r) => r.envelope.events);
  }

  set(behaviour: ReceiverBehaviour): void {
    this.behaviour = behaviour;
  }

  /** Listens on a free port the first time, and on the same port again after stop(). */
  async start(): Promise<this> {
    const server = createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (raw += chunk));
      req.on('end', () => {
        const n = this.attempts++;
        const status = this.behaviour.status?.(n) ?? 200;
        setTimeout(() => {
          if (status < 400) {
            this.received.push({ headers: req.headers, raw, envelope: JSON.parse(raw) as Envelope });
            for (const wake of this.waiters.splice(0)) wake();
          }
          res.writeHead(status).end();
        }, this.behaviour.delayMs ?? 0);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Resolves once `count` events have arrived; fails after `timeoutMs`. */
  async waitForEvents(count: number, timeoutMs = 5_000): Promise<RegistryEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} events, received ${this.events.length}: ${JSON.stringify(this.events.map((e) => e.action))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.events;
  }
}
