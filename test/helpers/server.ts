import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../../src/log/logger.js';
import { Registry } from '../../src/registry/registry.js';
import { createRegistryServer, type RequestObserver, type ServerOptions } from '../../src/server/app.js';
import type { ServerAuth } from '../../src/auth/server-auth.js';
import type { StorageDriver } from '../../src/storage/driver.js';
import { FilesystemDriver } from '../../src/storage/filesystem.js';
import { MemoryDriver } from '../../src/storage/memory.js';

export type DriverKind = 'filesystem' | 'memory';
export const DRIVER_KINDS: DriverKind[] = ['filesystem', 'memory'];

export interface TestRegistry {
  /** http://127.0.0.1:PORT (https with `tls`) */
  url: string;
  /** 127.0.0.1:PORT */
  host: string;
  driver: StorageDriver;
  registry: Registry;
  /** The filesystem root (filesystem driver only). */
  root?: string;
  close(): Promise<void>;
}

/** Starts the real registry server in-process on an ephemeral loopback port. */
export async function startRegistry(
  options: { driver?: DriverKind; root?: string; readOnly?: boolean; deleteEnabled?: boolean; observers?: RequestObserver[]; logger?: Logger; auth?: ServerAuth; tls?: { cert: string; key: string } } = {},
): Promise<TestRegistry> {
  const kind = options.driver ?? 'filesystem';
  const ownRoot = kind === 'filesystem' && !options.root ? await mkdtemp(join(tmpdir(), 'regctl-test-')) : undefined;
  const root = options.root ?? ownRoot;
  const driver: StorageDriver = kind === 'filesystem' ? new FilesystemDriver(root!) : new MemoryDriver();
  const registry = new Registry({ driver });
  const server = createRegistryServer({
    registry,
    logger: options.logger ?? silentLogger,
    readOnly: options.readOnly ?? false,
    deleteEnabled: options.deleteEnabled ?? true,
    observers: options.observers,
    auth: options.auth,
    tls: options.tls,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    driver,
    registry,
    root,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownRoot) await rm(ownRoot, { recursive: true, force: true });
    },
  };
}

/** A server built from whole ServerOptions (a failing driver, extra options) on an ephemeral loopback port. */
export async function startServer(options: ServerOptions): Promise<{ url: string; close(): Promise<void> }> {
  const server = createRegistryServer(options);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
