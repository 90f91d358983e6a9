import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { CliError, UsageError } from '../cli/errors.js';
import { createOutput } from '../cli/output.js';
import { defaultStorageRoot, parseListenAddress } from '../config/paths.js';
import { createLogger, LOG_FORMATS, LOG_LEVELS, type LogFormat, type Logger, type LogLevel } from '../log/logger.js';
import { Registry } from '../registry/registry.js';
import { createRegistryServer } from '../server/app.js';
import { GC_DEFAULTS } from '../server/handlers/admin.js';
import { removeServeMarker, writeServeMarker } from '../server/marker.js';
import { tlsPaths } from '../tls/files.js';
import { serverAuth, serverTls, type SecurityFlags } from './serve-security.js';
import { parseDuration } from '../util/duration.js';
import { FilesystemDriver } from '../storage/filesystem.js';

export interface ServeOptions extends SecurityFlags {
  addr: string;
  root?: string;
  ephemeral?: boolean;
  readOnly?: boolean;
  delete: boolean;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** How long in-flight requests may run after SIGINT/SIGTERM. */
  shutdownTimeout: number;
  /** Run garbage collection this often (ms), coordinated with pushes; 0 = never. */
  gcInterval?: number;
  json?: boolean;
}

export interface RunningRegistry {
  url: string;
  root: string;
  server: Server;
  /** Stops accepting, lets in-flight requests finish (bounded), then releases everything. */
  stop(): Promise<void>;
}

export async function startServe(opts: ServeOptions, logger: Logger): Promise<RunningRegistry> {
  let listen: { host: string; port: number };
  try {
    listen = parseListenAddress(opts.ephemeral && opts.addr === DEFAULT_ADDR ? '127.0.0.1:0' : opts.addr);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const tls = await serverTls(opts, logger);
  const auth = await serverAuth(opts, logger);
  const root = opts.ephemeral ? await mkdtemp(join(tmpdir(), 'regctl-ephemeral-')) : resolve(opts.root ?? defaultStorageRoot());
  await checkWritable(root);

  const registry = new Registry({ driver: new FilesystemDriver(root) });
  const server = createRegistryServer({ registry, logger, readOnly: opts.readOnly ?? false, deleteEnabled: opts.delete, tls, auth });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, opts.addr, listen)));
    server.listen(listen.port, listen.host, () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  const url = `${tls ? 'https' : 'http'}://${shownHost}:${port}`;
  const caFile = tls && !opts.tlsCert ? tlsPaths(process.env).caCert : undefined;
  await writeServeMarker(root, { pid: process.pid, url, startedAt: new Date().toISOString(), ...(caFile ? { caFile } : {}) });
  const gcTimer = opts.gcInterval ? scheduleGc(registry, opts.gcInterval, logger) : undefined;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (gcTimer) clearInterval(gcTimer);
      const closed = new Promise<void>((done) => server.close(() => done()));
      // Keep-alive connections turn idle as their requests finish; close them as they do.
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const timer = setTimeout(() => server.closeAllConnections(), opts.shutdownTimeout);
      server.closeIdleConnections();
      await closed;
      clearInterval(sweep);
      clearTimeout(timer);
      await removeServeMarker(root, process.pid);
      if (opts.ephemeral) await rm(root, { recursive: true, force: true });
    })());
  return { url, root, server, stop };
}

const DEFAULT_ADDR = '127.0.0.1:5000';

/** Scheduled collections keep untagged manifests (only unreferenced blobs and stale uploads go). */
function scheduleGc(registry: Registry, intervalMs: number, logger: Logger): NodeJS.Timeout {
  const timer = setInterval(() => {
    if (registry.gc.isRunning) return;
    registry
      .collectGarbage({ dryRun: false, deleteUntagged: false, ...GC_DEFAULTS })
      .then((report) =>
        logger.info('garbage collection', {
          blobsRemoved: report.summary.blobsRemoved,
          bytesFreed: report.summary.bytesFreed,
          uploadsRemoved: report.summary.uploadsRemoved,
          durationMs: report.durationMs,
        }),
      )
      .catch((err: unknown) => logger.error('garbage collection failed', { error: (err as Error).message }));
  }, intervalMs);
  timer.unref();
  return timer;
}

async function checkWritable(root: string): Promise<void> {
  const probe = join(root, `.regctl-write-test-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(root, { recursive: true });
    await writeFile(probe, '');
    await unlink(probe);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new CliError(`storage root ${root} is not writable (${code}); choose another with --root or fix its permissions`);
  }
}

function listenError(err: NodeJS.ErrnoException, addr: string, listen: { host: string; port: number }): CliError {
  if (err.code === 'EADDRINUSE') {
    return new CliError(`address ${addr} is already in use; stop whatever listens on port ${listen.port} or choose another with --addr`);
  }
  if (err.code === 'EACCES') return new CliError(`not allowed to listen on ${addr} (ports below 1024 need root); choose another with --addr`);
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') {
    return new CliError(`cannot listen on ${addr}: ${listen.host} is not an address of this machine`);
  }
  return new CliError(`cannot listen on ${addr}: ${err.message}`);
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run a registry (OCI Distribution v1.1, Docker Registry V2) on the CNCF registry on-disk layout')
    .option('--addr <host:port>', 'where to listen (":5000" = all interfaces)', DEFAULT_ADDR)
    .option('--root <dir>', `storage root (default: ${defaultStorageRoot()})`)
    .option('--ephemeral', 'temporary root and a free port; prints REGISTRY_URL=… on stdout and removes the root on exit')
    .option('--read-only', 'refuse every write (405 UNSUPPORTED)')
    .option('--no-delete', 'refuse deletes of manifests and blobs (405 UNSUPPORTED)')
    .addOption(new Option('--log-level <level>', 'log level').choices([...LOG_LEVELS]).default('info'))
    .addOption(new Option('--log-format <format>', 'log format').choices([...LOG_FORMATS]).default('text'))
    .addOption(new Option('--shutdown-timeout <ms>', 'how long in-flight requests may finish after SIGINT/SIGTERM').default(10_000).argParser(parseMs))
    .option('--gc-interval <duration>', 'collect garbage this often while serving (e.g. 6h), safe during pushes', parseDurationFlag)
    .option('--tls', 'serve HTTPS with the certificate of regctl tls init')
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (chain) instead')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert')
    .option('--tls-client-ca <file>', 'require client certificates signed by this CA (PEM)')
    .option('--htpasswd <file>', 'require Basic auth for every request, users from this htpasswd file (bcrypt; re-read when it changes)')
    .option('--json', 'print the start-up information as one JSON document on stdout')
    .action(async (opts: ServeOptions) => {
      const logger = createLogger({ level: opts.logLevel, format: opts.logFormat });
      const out = createOutput({ json: opts.json ?? false });
      const running = await startServe(opts, logger);
      const info = { url: running.url, root: running.root, storage: 'filesystem', readOnly: opts.readOnly ?? false, delete: opts.delete, auth: opts.htpasswd ? 'htpasswd' : 'none' };
      if (opts.json) out.result(info, () => '');
      else if (opts.ephemeral) out.stdout.write(`REGISTRY_URL=${running.url}\n`);
      process.stderr.write(
        `regctl serve: listening on ${running.url}${opts.addr.startsWith(':') ? ` (all interfaces, port ${opts.addr.slice(1)})` : ''}\n` +
          `regctl serve: storing in ${running.root} (filesystem${opts.ephemeral ? ', removed on exit' : ''})` +
          `${opts.readOnly ? ', read-only' : ''}${opts.delete ? '' : ', deletes off'}\n`,
      );
      await new Promise<void>((done) => {
        const onSignal = (signal: NodeJS.Signals): void => {
          process.stderr.write(`regctl serve: ${signal}: finishing in-flight requests, then exiting\n`);
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          void running.stop().then(done);
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
      logger.flush();
    });
}

function parseDurationFlag(value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function parseMs(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--shutdown-timeout must be milliseconds (a non-negative integer), got "${value}"`);
  return n;
}
