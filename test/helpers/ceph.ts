// A real S3 server for the S3 driver's suites: single-node Ceph with radosgw (test/helpers/ceph/).
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { buffer } from 'node:stream/consumers';
import { expect } from 'vitest';
import type { RegistryClient } from '../../src/client/client.js';
import type { S3Config } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log/logger.js';
import { Registry } from '../../src/registry/registry.js';
import { createRegistryServer } from '../../src/server/app.js';
import type { StorageDriver } from '../../src/storage/driver.js';
import { createS3Client } from '../../src/storage/s3-bucket.js';
import { createS3Driver } from '../../src/storage/s3.js';
import { startCncfRegistry } from './cncf-registry.js';
import type { Image } from './fixtures.js';
import { gateOn, type ToolCheck } from './interop.js';

type RunningCncf = Awaited<ReturnType<typeof startCncfRegistry>>;

export const CEPH_ENDPOINT = 'http://127.0.0.1:5500';
/** The test user start.sh creates; not a secret. */
const ACCESS_KEY = 'TESTACCESSKEY0000001';
const SECRET_KEY = 'testsecretkey0000000000000000000000000001';
const START = fileURLToPath(new URL('./ceph/start.sh', import.meta.url));
/** Part size in the suites: S3's minimum, so a few MiB already exercise multipart uploads. */
const TEST_CHUNK_SIZE = 5 * 1024 * 1024;

let started: ToolCheck | undefined;

/**
 * Starts the one cluster this machine may have, unless CI or an earlier run already did (start.sh
 * takes a lock and reuses a running cluster, so parallel test files share one). It is left running
 * for the next run; `test/helpers/ceph/stop.sh` stops it.
 */
function ensureCeph(): ToolCheck {
  if (started) return started;
  const probe = spawnSync('radosgw', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if ((probe.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    started = { available: false, reason: 'Ceph not installed (apt-get install ceph-mon ceph-osd radosgw)' };
    return started;
  }
  const run = spawnSync(START, [], { encoding: 'utf8', timeout: 180_000 });
  started =
    run.status === 0
      ? { available: true }
      : { available: false, reason: `test/helpers/ceph/start.sh failed: ${(run.stderr || run.stdout || String(run.error)).trim().split('\n').pop()}` };
  return started;
}

/** For `describe.runIf(cephGate(...))`: `gateOn` with a running Ceph (started here if need be). */
export function cephGate(suite: string): boolean {
  return gateOn(suite, ensureCeph);
}

export function s3Config(bucket: string, overrides: Partial<S3Config> = {}): S3Config {
  return {
    bucket,
    region: 'us-east-1',
    regionEndpoint: CEPH_ENDPOINT,
    forcePathStyle: true,
    accessKey: ACCESS_KEY,
    secretKey: SECRET_KEY,
    rootDirectory: '',
    chunkSize: TEST_CHUNK_SIZE,
    redirect: false,
    ...overrides,
  };
}

export interface TestBucket {
  name: string;
  config: S3Config;
  /** A fresh driver instance on this bucket (as a separate replica would have). */
  driver(overrides?: Partial<S3Config>): Promise<StorageDriver>;
  /** Empties the bucket (objects and unfinished multipart uploads) and deletes it: memstore is RAM. */
  remove(): Promise<void>;
}

export async function createTestBucket(prefix = 'regctl'): Promise<TestBucket> {
  const name = `${prefix}-${randomBytes(6).toString('hex')}`;
  const config = s3Config(name);
  const client = createS3Client(config);
  await client.send(new CreateBucketCommand({ Bucket: name }));
  return {
    name,
    config,
    driver: (overrides) => createS3Driver({ ...config, ...overrides }, silentLogger),
    async remove() {
      await emptyBucket(client, name);
      await client.send(new DeleteBucketCommand({ Bucket: name }));
      client.destroy();
    },
  };
}

async function emptyBucket(client: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length === 0) break;
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  for (const u of uploads.Uploads ?? []) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key!, UploadId: u.UploadId! }));
  }
}

export interface S3Replica {
  url: string;
  /** 127.0.0.1:PORT */
  host: string;
  registry: Registry;
  close(): Promise<void>;
}

/**
 * One replica: its own driver instance, Registry and server on an ephemeral port, as one `regctl
 * serve` process of several on the same bucket would be (so nothing is shared in memory).
 */
export async function startS3Replica(bucket: TestBucket, options: { linkCacheTtlMs?: number; s3?: Partial<S3Config> } = {}): Promise<S3Replica> {
  const registry = new Registry({ driver: await bucket.driver(options.s3), linkCacheTtlMs: options.linkCacheTtlMs });
  const server = createRegistryServer({ registry, logger: silentLogger, readOnly: false, deleteEnabled: true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    registry,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The CNCF registry on the same bucket, through its own S3 driver (storage selected by environment
 * over the helper's filesystem config). AWS_CA_BUNDLE is dropped: its Go SDK refuses a custom bundle
 * with a plain-HTTP endpoint.
 */
export async function startCncfOnBucket(bucket: TestBucket, rootDirectory: string): Promise<RunningCncf> {
  const env: Record<string, string> = {
    REGISTRY_STORAGE: 's3',
    REGISTRY_STORAGE_S3_REGION: bucket.config.region,
    REGISTRY_STORAGE_S3_REGIONENDPOINT: CEPH_ENDPOINT,
    REGISTRY_STORAGE_S3_BUCKET: bucket.name,
    REGISTRY_STORAGE_S3_ACCESSKEY: ACCESS_KEY,
    REGISTRY_STORAGE_S3_SECRETKEY: SECRET_KEY,
    REGISTRY_STORAGE_S3_SECURE: 'false',
    REGISTRY_STORAGE_S3_ROOTDIRECTORY: rootDirectory,
    REGISTRY_STORAGE_REDIRECT_DISABLE: 'true',
  };
  const saved = { ...process.env };
  Object.assign(process.env, env);
  delete process.env.AWS_CA_BUNDLE;
  try {
    return await startCncfRegistry({ root: '/nonexistent-unused' });
  } finally {
    for (const key of Object.keys(env)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

/** Pulls the image by tag through `client` and checks every byte (getBlob verifies digests as it streams). */
export async function expectImage(client: RegistryClient, repo: string, tag: string, image: Image): Promise<void> {
  expect((await client.getManifest(repo, tag)).digest).toBe(image.manifest.digest);
  for (const blob of image.blobs) {
    expect((await buffer((await client.getBlob(repo, blob.digest)).stream)).equals(blob.data)).toBe(true);
  }
}
