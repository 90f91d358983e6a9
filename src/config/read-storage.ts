import { closest, type Section } from './reader.js';
import type { S3Config, StorageConfig } from './schema.js';
import { S3_CHUNK_SIZE } from './defaults.js';

const DRIVERS = ['filesystem', 'inmemory', 's3'] as const;
/** Sections of `storage:` that are not a driver. */
const NOT_DRIVERS = new Set(['delete', 'maintenance', 'cache', 'redirect', 'tag']);
/** CNCF drivers regctl does not have. */
const OTHER_DRIVERS = new Set(['azure', 'gcs', 'swift', 'oss']);

/**
 * `storage:` of config.yml. A file is read the CNCF way, where deletes are off unless
 * `storage.delete.enabled: true`; without a file regctl's own default (deletes on) stands.
 */
export function readStorage(storage: Section, defaults: StorageConfig, fromFile: boolean): StorageConfig {
  const maintenance = storage.section('maintenance');
  const purging = maintenance.section('uploadpurging');
  const readonly = maintenance.section('readonly');
  const del = storage.section('delete');
  const redirect = storage.section('redirect');
  const common = {
    delete: del.bool('enabled') ?? (fromFile ? false : defaults.delete),
    readOnly: readonly.bool('enabled') ?? defaults.readOnly,
    uploadPurging: {
      enabled: purging.bool('enabled') ?? defaults.uploadPurging.enabled,
      ageMs: purging.duration('age') ?? defaults.uploadPurging.ageMs,
      intervalMs: purging.duration('interval') ?? defaults.uploadPurging.intervalMs,
      dryRun: purging.bool('dryrun') ?? defaults.uploadPurging.dryRun,
    },
  };
  if (common.uploadPurging.enabled && common.uploadPurging.intervalMs === 0) {
    throw purging.fail('interval', undefined, 'is 0 while purging is enabled; write e.g. 24h, or set enabled: false');
  }
  const redirectDisabled = redirect.bool('disable') ?? false;
  for (const s of [purging, readonly, maintenance, del, redirect]) s.finish();
  storage.unsupported('cache', 'is not supported by regctl (it keeps its own in-memory cache); ignored');
  storage.unsupported('tag', 'is not supported by regctl; ignored');

  const drivers = storage.keys().filter((k) => !NOT_DRIVERS.has(k));
  for (const name of drivers.filter((k) => OTHER_DRIVERS.has(k))) {
    throw storage.fail(name, undefined, `is a storage driver regctl does not have; use one of ${DRIVERS.join(', ')}`);
  }
  const chosen = drivers.filter((k) => (DRIVERS as readonly string[]).includes(k));
  if (chosen.length > 1) throw storage.fail(chosen[1]!, undefined, `is a second storage driver (besides ${chosen[0]}); keep exactly one`);
  const driver = chosen[0];
  // Any other key beside no driver is most likely a misspelt driver: falling back to the default
  // root would store somewhere the file never named. (Only `delete:`, `maintenance:` and the like,
  // from the file or REGISTRY_* variables, keep the default driver.)
  const unknown = drivers.find((k) => !(DRIVERS as readonly string[]).includes(k));
  if (!driver && unknown !== undefined) {
    const near = closest(unknown, [...DRIVERS]);
    throw storage.fail(unknown, undefined, `is not a storage driver${near ? ` (did you mean storage.${near}?)` : ''}; use one of ${DRIVERS.join(', ')}`);
  }
  let result: StorageConfig;
  if (driver === 'inmemory') {
    storage.section('inmemory').finish();
    result = { driver: 'inmemory', ...common };
  } else if (driver === 's3') {
    result = { driver: 's3', s3: readS3(storage.section('s3'), !redirectDisabled), ...common };
  } else if (driver === 'filesystem') {
    const fs = storage.section('filesystem');
    const rootDirectory = fs.string('rootdirectory') ?? (defaults.driver === 'filesystem' ? defaults.rootDirectory : undefined);
    if (!rootDirectory) throw fs.fail('rootdirectory', undefined, 'is missing; add the directory to store in, e.g. rootdirectory: /var/lib/registry');
    fs.unsupported('maxthreads', 'is not needed by regctl (it bounds its own concurrency); ignored');
    fs.finish();
    result = { driver: 'filesystem', rootDirectory, ...common };
  } else {
    result = { ...defaults, ...common } as StorageConfig;
  }
  storage.finish();
  return result;
}

/** The CNCF `storage.s3` keys regctl reads; the rest of the driver's options are warned about. */
function readS3(s3: Section, redirect: boolean): S3Config {
  const required = (key: 'bucket' | 'region', example: string): string => {
    const value = s3.string(key);
    if (!value) throw s3.fail(key, undefined, `is missing; add it, e.g. ${key}: ${example}`);
    return value;
  };
  const bucket = required('bucket', 'registry');
  const region = required('region', 'us-east-1');
  const regionEndpoint = s3.string('regionendpoint');
  if (regionEndpoint !== undefined && !/^https?:\/\/[^/]/.test(regionEndpoint)) {
    throw s3.fail('regionendpoint', undefined, `is "${regionEndpoint}"; write a URL with its scheme, e.g. http://127.0.0.1:9000`);
  }
  const accessKey = s3.string('accesskey') || undefined;
  const secretKey = s3.string('secretkey') || undefined;
  if (Boolean(accessKey) !== Boolean(secretKey)) {
    throw s3.fail(accessKey ? 'secretkey' : 'accesskey', undefined, 'is missing; give accesskey and secretkey together, or neither for the AWS default credentials');
  }
  const config: S3Config = {
    bucket,
    region,
    ...(regionEndpoint ? { regionEndpoint } : {}),
    forcePathStyle: s3.bool('forcepathstyle') ?? false,
    ...(accessKey ? { accessKey, secretKey } : {}),
    rootDirectory: (s3.string('rootdirectory') ?? '').replace(/^\/+|\/+$/g, ''),
    chunkSize: s3.integer('chunksize', S3_CHUNK_SIZE.min) ?? S3_CHUNK_SIZE.default,
    redirect,
  };
  for (const key of ['encrypt', 'keyid', 'secure', 'skipverify', 'v4auth', 'storageclass', 'objectacl', 'multipartcopychunksize', 'multipartcopymaxconcurrency', 'multipartcopythresholdsize', 'useragent', 'usedualstack', 'accelerate', 'sessiontoken', 'loglevel', 'checksum_disabled']) {
    s3.unsupported(key);
  }
  s3.finish();
  return config;
}
