import { S3Client } from '@aws-sdk/client-s3';
import type { S3Config } from '../config/schema.js';
import { checkPath } from './driver.js';

/** The smallest part S3 accepts in a multipart upload, except the last one. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** The largest part (and the largest single CopyObject). */
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;

/**
 * One bucket under one prefix: the S3 client and the mapping from driver paths to object keys, shared
 * by the driver's modules. The key of "/docker/registry/v2/…" is "<rootdirectory>/docker/registry/v2/…"
 * without a leading slash, exactly as the CNCF registry's S3 driver names it, so either can read
 * the other's bucket.
 */
export class S3Bucket {
  private readonly prefix: string;

  constructor(
    readonly client: S3Client,
    readonly name: string,
    rootDirectory: string,
    readonly partSize: number,
  ) {
    const root = rootDirectory.replace(/^\/+|\/+$/g, '');
    this.prefix = root ? `${root}/` : '';
  }

  /** The object key of a driver path (checked here, so every operation rejects bad paths). */
  key(path: string): string {
    return this.prefix + checkPath(path).slice(1);
  }

  /** The prefix of everything below a directory. */
  dirPrefix(path: string): string {
    return `${this.key(path)}/`;
  }

  /** `x-amz-copy-source` of an object in this bucket (keys hold only URL-safe characters). */
  copySource(key: string): string {
    return `${this.name}/${key}`;
  }
}

export function createS3Client(config: S3Config): S3Client {
  // The SDK warns on every start that its 2027 releases will need Node 22: nothing a regctl user can
  // act on, and it would be the only multi-line text on serve's stderr. An explicit setting wins.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const credentials =
    config.accessKey && config.secretKey ? { accessKeyId: config.accessKey, secretAccessKey: config.secretKey } : undefined;
  return new S3Client({
    region: config.region,
    ...(config.regionEndpoint ? { endpoint: config.regionEndpoint } : {}),
    forcePathStyle: config.forcePathStyle,
    // Absent keys leave the SDK's default chain (environment, shared files, instance roles) in charge.
    ...(credentials ? { credentials } : {}),
    // With the SDK's default checksums a streamed body needs trailers that S3-compatible servers
    // (radosgw, MinIO before 2024) refuse; parts carry a Content-Length and S3 verifies those itself.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
