import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { CliError, UsageError } from '../cli/errors.js';
import { createOutput } from '../cli/output.js';
import { checkFiles, type FileSetting, type FileSources } from '../config/check-files.js';
import { DEFAULT_ADDR } from '../config/defaults.js';
import { formatWarning } from '../config/errors.js';
import { applyServeFlags, type ServeFlags } from '../config/flags.js';
import { loadServeConfig } from '../config/load.js';
import { defaultStorageRoot, parseListenAddress } from '../config/paths.js';
import type { AuthConfig, ServeConfig, StorageConfig } from '../config/schema.js';
import { createLogger, LOG_FORMATS, LOG_LEVELS, type Logger } from '../log/logger.js';
import type { ProxyDeps } from '../registry/proxy/registry.js';
import { Registry, type RegistryDeps } from '../registry/registry.js';
import { RequestScope } from '../server/request-scope.js';
import { createRegistryServer } from '../server/app.js';
import { removeServeMarker, writeServeMarker } from '../server/marker.js';
import { createStorageDriver, describeStorage } from '../storage/factory.js';
import { parseDuration } from '../util/duration.js';
import { makeDirectories } from '../util/private-file.js';
import { scheduleGc, scheduleUploadPurging, type StopJob } from './serve-maintenance.js';
import { createObservability } from './serve-observe.js';
import { serverAuth, serverTls } from './serve-security.js';

export interface RunningRegistry {
  url: string;
  /** The storage driver and where it keeps data (a directory, a bucket and prefix, or memory). */
  storage: { driver: StorageConfig['driver']; location: string };
  /** How clients authenticate: `token`, `htpasswd`, `rules` (access rules alone) or `none`. */
  auth: 'token' | 'htpasswd' | 'rules' | 'none';
  server: Server;
  /** Stops accepting, lets in-flight requests finish (bounded), then releases everything. */
  stop(): Promise<void>;
}

/** Builds the server from the configuration, one section at a time, and starts listening. */
export async function startServe(config: ServeConfig, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<RunningRegistry> {
  const listen = listenAddress(config.http.addr);
  const storage = absoluteRoot(config.storage);
  const tls = await serverTls(config.http.tls, logger, env);
  const auth = await serverAuth(config.auth, logger, env);
  if (storage.driver === 'filesystem') await checkWritable(storage.rootDirectory);
  const driver = await createStorageDriver(storage, logger);
  const observe = await createObservability(config, logger);
  const scope = new RequestScope();
  const registry = await createRegistry(config, { driver, ...observe.registryHooks }, { logger, scope, stats: observe.proxyStats });
  const { observers, metrics } = observe.attach(registry, tls ? 'https' : 'http');
  const server = createRegistryServer({ registry, logger, readOnly: storage.readOnly, deleteEnabled: storage.delete, tls, auth, observers, metrics, scope });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, config.http.addr, listen)));
    server.listen(listen.port, listen.host, () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  await observe.listening(port, registry);
  const shownHost = listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  const url = `${tls ? 'https' : 'http'}://${shownHost}:${port}`;
  const root = storage.driver === 'filesystem' ? storage.rootDirectory : undefined;
  if (root) await writeServeMarker(root, { pid: process.pid, url, startedAt: new Date().toISOString(), ...(tls?.caFile ? { caFile: tls.caFile } : {}) });
  const jobs: StopJob[] = [];
  const gcIntervalMs = config.regctl.gcIntervalMs || (config.proxy.upstreams.length > 0 && !storage.readOnly ? PROXY_EXPIRY_INTERVAL_MS : 0);
  if (gcIntervalMs > 0) jobs.push(scheduleGc(registry, gcIntervalMs, logger));
  // A read-only registry changes nothing, stale uploads included (as in the CNCF registry).
  if (storage.uploadPurging.enabled && !storage.readOnly) jobs.push(scheduleUploadPurging(registry, storage.uploadPurging, logger));

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      for (const stopJob of jobs) stopJob();
      const closed = new Promise<void>((done) => server.close(() => done()));
      // Keep-alive connections turn idle as their requests finish; close them as they do.
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const timer = setTimeout(() => server.closeAllConnections(), config.regctl.shutdownTimeoutMs);
      server.closeIdleConnections();
      await closed;
      clearInterval(sweep);
      clearTimeout(timer);
      // Blob fetches of the pull-through cache still storing finish, then upstream connections close.
      await registry.close();
      // After the server: every request has finished, so every event is queued.
      await observe.close();
      if (root) await removeServeMarker(root, process.pid);
    })());
  return { url, storage: describeStorage(storage), auth: auth ? authMode(config.auth) : 'none', server, stop };
}

/**
 * A pull-through cache expires at each garbage collection; with upstreams and no --gc-interval, one
 * runs this often (untagged manifests stay; only unreferenced blobs, expired cache entries and stale
 * uploads go).
 */
const PROXY_EXPIRY_INTERVAL_MS = 3_600_000;

/** A plain registry, or one that pulls names under configured prefixes through from their upstreams. */
async function createRegistry(config: ServeConfig, deps: RegistryDeps, proxy: ProxyDeps): Promise<Registry> {
  if (config.proxy.upstreams.length === 0) return new Registry(deps);
  // Loaded only when proxying: the upstream client pulls in undici, which plain serving never needs.
  const { ProxyRegistry } = await import('../registry/proxy/registry.js');
  const { ProxyConfigError } = await import('../registry/proxy/router.js');
  try {
    return new ProxyRegistry(deps, config.proxy, proxy);
  } catch (err) {
    throw err instanceof ProxyConfigError ? new UsageError(err.message) : err;
  }
}

function authMode(auth: AuthConfig): RunningRegistry['auth'] {
  return auth.token ? 'token' : auth.htpasswd ? 'htpasswd' : auth.accessRulesFile ? 'rules' : 'none';
}

/** For the start-up line: every part of the auth section in use, with its file. */
function describeAuth(auth: AuthConfig): string {
  const parts = [
    auth.token ? `token service (${auth.token.service})` : '',
    auth.htpasswd ? `htpasswd ${auth.htpasswd.path}` : '',
    auth.accessRulesFile ? `access rules ${auth.accessRulesFile}` : '',
  ].filter(Boolean);
  return parts.join(', ');
}

function listenAddress(addr: string): { host: string; port: number } {
  try {
    return parseListenAddress(addr);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** A relative root is relative to the working directory, as in the CNCF registry; the marker needs it whole. */
function absoluteRoot(storage: StorageConfig): StorageConfig {
  return storage.driver === 'filesystem' ? { ...storage, rootDirectory: resolve(storage.rootDirectory) } : storage;
}

async function checkWritable(root: string): Promise<void> {
  const probe = join(root, `.regctl-write-test-${randomBytes(4).toString('hex')}`);
  try {
    await makeDirectories(root);
  } catch (err) {
    throw new CliError(`storage root ${root} cannot be made (${(err as NodeJS.ErrnoException).code ?? 'error'}); choose another with --root`);
  }
  try {
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

interface ServeCommandFlags extends ServeFlags {
  config?: string;
  ephemeral?: boolean;
  json?: boolean;
}

/**
 * The effective configuration of `serve`: defaults < file < `REGISTRY_*` < flags. `--ephemeral`
 * stores in `ephemeralRoot` and, unless an address was chosen, takes a free loopback port.
 */
export async function resolveServeConfig(flags: ServeCommandFlags, env: NodeJS.ProcessEnv, ephemeralRoot?: string): Promise<{ config: ServeConfig; warnings: string[] }> {
  const { config, warnings, sources } = await loadServeConfig({ file: flags.config, env });
  const merged = applyServeFlags(config, ephemeralRoot ? { ...flags, root: ephemeralRoot } : flags, env);
  if (ephemeralRoot && flags.addr === undefined && merged.http.addr === DEFAULT_ADDR) merged.http.addr = '127.0.0.1:0';
  // What `config validate` reports, refused here before anything starts, with where it was set.
  const given = flagSources(flags);
  const [problem] = await checkFiles(merged, (setting) => given[setting] ?? sources[setting] ?? '(default)');
  if (problem) throw problem;
  return { config: merged, warnings: warnings.map(formatWarning) };
}

/** The flags that replace a file setting, as the place the value came from. */
function flagSources(flags: ServeCommandFlags): FileSources {
  const sources: [FileSetting, string, unknown][] = [
    ['storage.filesystem.rootdirectory', flags.ephemeral ? '--ephemeral' : '--root', flags.ephemeral || flags.root],
    ['auth.htpasswd.path', '--htpasswd', flags.htpasswd],
    ['regctl.auth.accessrules', '--access-rules', flags.accessRules],
    ['http.tls.certificate', '--tls-cert', flags.tlsCert],
    ['http.tls.key', '--tls-key', flags.tlsKey],
    ['http.tls.clientcas', '--tls-client-ca', flags.tlsClientCa],
  ];
  return Object.fromEntries(sources.filter(([, , value]) => value).map(([setting, flag]) => [setting, flag]));
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run a registry (OCI Distribution v1.1, Docker Registry V2) on the CNCF registry on-disk layout')
    .option('--config <file>', "settings from a CNCF registry config.yml (version 0.1; regctl's own under regctl:); flags win over it")
    .option('--addr <host:port>', `where to listen (":5000" = all interfaces; default ${DEFAULT_ADDR})`)
    .option('--root <dir>', `storage root (default: ${defaultStorageRoot()})`)
    .option('--ephemeral', 'temporary root and a free port; prints REGISTRY_URL=… on stdout and removes the root on exit')
    .option('--read-only', 'refuse every write (405 UNSUPPORTED)')
    .option('--no-delete', 'refuse deletes of manifests and blobs (405 UNSUPPORTED)')
    .addOption(new Option('--log-level <level>', 'log level (default: info)').choices([...LOG_LEVELS]))
    .addOption(new Option('--log-format <format>', 'log format (default: text)').choices([...LOG_FORMATS]))
    .addOption(new Option('--shutdown-timeout <ms>', 'how long in-flight requests may finish after SIGINT/SIGTERM (default: 10000)').argParser(parseMs))
    .option('--gc-interval <duration>', 'collect garbage this often while serving (e.g. 6h), safe during pushes', parseDurationFlag)
    .option('--tls', 'serve HTTPS with the certificate of regctl tls init')
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (chain) instead')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert')
    .option('--tls-client-ca <file>', 'require client certificates signed by this CA (PEM)')
    .option('--htpasswd <file>', 'require Basic auth for every request, users from this htpasswd file (bcrypt; re-read when it changes)')
    .option('--access-rules <file>', 'who may pull, push and delete which repositories (YAML, first match wins; re-read when it changes)')
    .option('--token-auth', 'serve a Docker token service at /token and answer with Bearer challenges (Basic still accepted)')
    .option('--json', 'print the start-up information as one JSON document on stdout')
    .action(async (opts: ServeCommandFlags, command: Command) => {
      // Commander fills in `delete: true` for --no-delete; only an explicit flag may override the file.
      const flags: ServeCommandFlags = { ...opts, delete: command.getOptionValueSource('delete') === 'cli' ? opts.delete : undefined };
      const ephemeralRoot = flags.ephemeral ? await mkdtemp(join(tmpdir(), 'regctl-ephemeral-')) : undefined;
      const removeEphemeral = async (): Promise<void> => {
        if (ephemeralRoot) await rm(ephemeralRoot, { recursive: true, force: true });
      };
      let config: ServeConfig;
      let running: RunningRegistry;
      let logger: Logger;
      try {
        const resolved = await resolveServeConfig(flags, process.env, ephemeralRoot);
        config = resolved.config;
        logger = createLogger(config.log);
        // Like the start-up lines, shown whatever the log level: an ignored setting is news at any level.
        for (const warning of resolved.warnings) process.stderr.write(`regctl serve: warning: ${warning}\n`);
        running = await startServe(config, logger);
      } catch (err) {
        await removeEphemeral();
        throw err;
      }
      // Handlers before the "listening" line: whoever reads it may signal at once.
      const stopped = new Promise<void>((done) => {
        const onSignal = (signal: NodeJS.Signals): void => {
          process.stderr.write(`regctl serve: ${signal}: finishing in-flight requests, then exiting\n`);
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          void running.stop().then(removeEphemeral).then(done);
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
      report(running, config, flags);
      await stopped;
      logger.flush();
    });
}

/** The start-up lines (stderr) and, with --json or --ephemeral, what scripts read on stdout. */
function report(running: RunningRegistry, config: ServeConfig, flags: ServeCommandFlags): void {
  const { storage } = config;
  const info = {
    url: running.url,
    root: running.storage.location,
    storage: running.storage.driver,
    readOnly: storage.readOnly,
    delete: storage.delete,
    auth: running.auth,
  };
  const out = createOutput({ json: flags.json ?? false });
  if (flags.json) out.result(info, () => '');
  else if (flags.ephemeral) out.stdout.write(`REGISTRY_URL=${running.url}\n`);
  const addr = config.http.addr;
  process.stderr.write(
    `regctl serve: listening on ${running.url}${addr.startsWith(':') ? ` (all interfaces, port ${addr.slice(1)})` : ''}\n` +
      `regctl serve: storing in ${running.storage.driver === 'inmemory' ? 'memory (gone on exit)' : `${running.storage.location} (${running.storage.driver}${flags.ephemeral ? ', removed on exit' : ''})`}` +
      `${storage.readOnly ? ', read-only' : ''}${storage.delete ? '' : ', deletes off'}\n` +
      `regctl serve: auth: ${running.auth === 'none' ? 'none (anyone may push and pull)' : describeAuth(config.auth)}\n`,
  );
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
