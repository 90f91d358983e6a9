// The S3 driver against the filesystem driver (issue 7, Performance): blob push (monolithic and
// chunked) and pull through the registry, and `_catalog` over 1,000 repositories. Both registries run
// in this process on the built code (dist/), so the two columns differ only in their driver. S3 is the
// single-node Ceph of test/helpers/ceph (started when missing, left running like the tests do).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, DeleteBucketCommand } from '@aws-sdk/client-s3';
import { silentLogger } from '../dist/log/logger.js';
import { listRepositoryDirs } from '../dist/registry/catalog.js';
import { Registry } from '../dist/registry/registry.js';
import { createRegistryServer } from '../dist/server/app.js';
import { FilesystemDriver } from '../dist/storage/filesystem.js';
import { createS3Client } from '../dist/storage/s3-bucket.js';
import { REPOSITORIES_ROOT } from '../dist/storage/paths.js';
import { createS3Driver } from '../dist/storage/s3.js';
import { makeBlob, pull, pushChunked, pushMonolithic } from './blobs.js';
import { call } from './http.js';

const MiB = 1024 * 1024;
const START_CEPH = fileURLToPath(new URL('../test/helpers/ceph/start.sh', import.meta.url));
const CATALOG_REPOSITORIES = 1000;
const CATALOG_ROUNDS = 5;
/** Seeding writes this many objects at once. */
const SEED_CONCURRENCY = 32;

/** @param {number[]} xs */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** @param {number} n */
const fmt = (n) => n.toFixed(n >= 100 ? 0 : n >= 10 ? 1 : 2);

/**
 * @param {import('../dist/storage/driver.js').StorageDriver} driver
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
async function serve(driver) {
  const server = createRegistryServer({ registry: new Registry({ driver }), logger: silentLogger, readOnly: false, deleteEnabled: true });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve(undefined));
    }),
  };
}

/**
 * What `_catalog` reads of a repository (a tag, a revision, a layer link), written straight into
 * the store: the same tree on both drivers.
 * @param {import('../dist/storage/driver.js').StorageDriver} driver
 */
async function seedRepositories(driver) {
  const digest = `sha256:${randomBytes(32).toString('hex')}`;
  const hex = digest.slice(7);
  const objects = Array.from({ length: CATALOG_REPOSITORIES }, (_, i) => `/docker/registry/v2/repositories/bench/catalog/r${String(i).padStart(4, '0')}`).flatMap(
    (repo) => [`${repo}/_manifests/tags/latest/current/link`, `${repo}/_manifests/revisions/sha256/${hex}/link`, `${repo}/_layers/sha256/${hex}/link`],
  );
  for (let i = 0; i < objects.length; i += SEED_CONCURRENCY) {
    await Promise.all(objects.slice(i, i + SEED_CONCURRENCY).map((path) => driver.putContent(path, digest)));
  }
}

/** @param {string} url @returns {Promise<number>} seconds */
async function timeCatalog(url) {
  const started = performance.now();
  const reply = await call(`${url}/v2/_catalog?n=100000`, { expect: 200 });
  const seconds = (performance.now() - started) / 1000;
  const count = JSON.parse(reply.text).repositories.length;
  if (count !== CATALOG_REPOSITORIES) throw new Error(`_catalog listed ${count} repositories, expected ${CATALOG_REPOSITORIES}`);
  return seconds;
}

/**
 * @param {{ quick: boolean, log: (line: string) => void }} options
 * @returns {Promise<string[]>} lines of the report
 */
export async function benchS3({ quick, log }) {
  const blobSize = quick ? 32 * MiB : 128 * MiB;
  const rounds = quick ? 1 : 3;
  const chunkSize = 16 * MiB;
  const ceph = spawnSync(START_CEPH, [], { encoding: 'utf8', timeout: 180_000 });
  if (ceph.status !== 0) return [`S3 driver bench skipped: Ceph did not start (${(ceph.stderr || String(ceph.error)).trim().split('\n').pop()}).`];

  const bucket = `bench-${randomBytes(6).toString('hex')}`;
  const config = {
    bucket,
    region: 'us-east-1',
    regionEndpoint: 'http://127.0.0.1:5500',
    forcePathStyle: true,
    accessKey: 'TESTACCESSKEY0000001',
    secretKey: 'testsecretkey0000000000000000000000000001',
    rootDirectory: '',
    chunkSize: 10 * MiB,
    redirect: false,
  };
  const client = createS3Client(config);
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const root = await mkdtemp(join(tmpdir(), 'regctl-bench-fs-'));
  const drivers = { filesystem: new FilesystemDriver(root), s3: await createS3Driver(config, silentLogger) };
  /** @type {Record<string, { url: string, close: () => Promise<void> }>} */
  const servers = {};
  try {
    for (const [name, driver] of Object.entries(drivers)) servers[name] = await serve(driver);
    /** @type {Record<string, Record<string, number[]>>} */
    const samples = { pushMonolithic: { filesystem: [], s3: [] }, pushChunked: { filesystem: [], s3: [] }, pull: { filesystem: [], s3: [] }, catalog: { filesystem: [], s3: [] } };
    const mbps = (/** @type {number} */ s) => blobSize / 1e6 / s;
    for (let round = 1; round <= rounds; round++) {
      const whole = makeBlob(blobSize);
      const chunked = makeBlob(blobSize);
      // Alternate which driver goes first, so neither always meets a warm or a cold machine.
      const order = round % 2 ? ['filesystem', 's3'] : ['s3', 'filesystem'];
      for (const name of order) {
        const { url } = servers[name];
        samples.pushMonolithic[name].push(mbps(await pushMonolithic(url, 'bench/s3', whole)));
        samples.pushChunked[name].push(mbps(await pushChunked(url, 'bench/s3', chunked, chunkSize)));
        samples.pull[name].push(mbps(await pull(url, 'bench/s3', whole)));
        log(`s3 bench [${round}/${rounds}] ${name.padEnd(10)} push ${fmt(samples.pushMonolithic[name].at(-1))} / chunked ${fmt(samples.pushChunked[name].at(-1))} / pull ${fmt(samples.pull[name].at(-1))} MB/s`);
      }
    }
    for (const [name, driver] of Object.entries(drivers)) {
      log(`s3 bench: seeding ${CATALOG_REPOSITORIES} repositories on ${name}`);
      await seedRepositories(driver);
      for (let i = 0; i < CATALOG_ROUNDS; i++) samples.catalog[name].push((await timeCatalog(servers[name].url)) * 1000);
    }
    // The catalog's question asked of the driver directly, by walking (one listing per directory)
    // and by marker-delimited listings (findDirsWith), to show what the capability saves.
    for (const [key, find] of /** @type {const} */ ([
      ['walk', () => listRepositoryDirs(drivers.s3, ['_manifests'])],
      ['findDirsWith', () => drivers.s3.findDirsWith(REPOSITORIES_ROOT, ['_manifests'])],
    ])) {
      for (let i = 0; i < CATALOG_ROUNDS; i++) {
        const started = performance.now();
        const found = await find();
        if (found.length !== CATALOG_REPOSITORIES) throw new Error(`${key} found ${found.length} repositories, expected ${CATALOG_REPOSITORIES}`);
        (samples[key] ??= { s3: [] }).s3.push(performance.now() - started);
      }
    }
    const rows = [
      ['blob push, monolithic (MB/s)', 'pushMonolithic'],
      ['blob push, 16 MiB chunks (MB/s)', 'pushChunked'],
      ['blob pull (MB/s)', 'pull'],
      [`_catalog, ${CATALOG_REPOSITORIES.toLocaleString('en')} repositories (ms)`, 'catalog'],
    ].map(([label, key]) => {
      const fs = median(samples[key].filesystem);
      const s3 = median(samples[key].s3);
      return [label, fmt(fs), fmt(s3), `${(s3 / fs).toFixed(2)}×`];
    });
    rows.push(
      ...[
        ['  S3 repositories by walk (ms)', 'walk'],
        ['  S3 repositories by findDirsWith (ms)', 'findDirsWith'],
      ].map(([label, key]) => [label, fmt(median(samples.catalog.filesystem)), fmt(median(samples[key].s3)), `${(median(samples[key].s3) / median(samples.catalog.filesystem)).toFixed(2)}×`]),
    );
    const header = ['S3 driver vs filesystem', 'filesystem', 's3', 's3/filesystem'];
    const widths = header.map((_, i) => Math.max(...[header, ...rows].map((cells) => cells[i].length)));
    const line = (/** @type {string[]} */ cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
    return [
      line(header),
      line(widths.map((w) => '-'.repeat(w))),
      ...rows.map(line),
      `${blobSize / MiB} MiB blobs, median of ${rounds} round(s); _catalog median of ${CATALOG_ROUNDS}; both registries in one process;`,
      `S3 = single-node Ceph radosgw (memstore) on 127.0.0.1, 10 MiB parts. MB = 10^6 bytes.`,
    ];
  } finally {
    for (const s of Object.values(servers)) await s.close();
    // Memstore keeps objects in RAM: everything goes, through the driver's own tree delete.
    await drivers.s3.delete('/docker').catch(() => undefined);
    await client.send(new DeleteBucketCommand({ Bucket: bucket })).catch((error) => log(`s3 bench: could not delete bucket ${bucket}: ${error}`));
    client.destroy();
    await rm(root, { recursive: true, force: true });
  }
}

// `node bench/s3.js [--quick]` runs this part alone.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const lines = await benchS3({ quick: process.argv.includes('--quick'), log: (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write(`${lines.join('\n')}\n`);
}
