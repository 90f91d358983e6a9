import { PathNotFoundError, StorageBackendError, StorageError } from './driver.js';

interface SdkError {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

function sdk(err: unknown): SdkError {
  return (typeof err === 'object' && err !== null ? err : {}) as SdkError;
}

/** A missing object (GetObject's NoSuchKey, HeadObject's bare 404); a missing bucket is not one. */
export function isNotFound(err: unknown): boolean {
  const { name, $metadata } = sdk(err);
  if (name === 'NoSuchBucket') return false;
  return name === 'NoSuchKey' || name === 'NotFound' || $metadata?.httpStatusCode === 404;
}

/** A Range that starts at or past the end of the object (S3 answers 416 InvalidRange). */
export function isInvalidRange(err: unknown): boolean {
  const { name, $metadata } = sdk(err);
  return name === 'InvalidRange' || $metadata?.httpStatusCode === 416;
}

/**
 * The one place SDK errors become storage errors, so no S3 error class leaves the driver. A missing
 * bucket or bad credentials keep the service's own words: they are what an operator must fix.
 */
export function translateS3Error(err: unknown, path: string): StorageError {
  if (err instanceof StorageError) return err;
  if (isNotFound(err)) return new PathNotFoundError(path, { cause: err });
  const { name, message, $metadata } = sdk(err);
  const status = $metadata?.httpStatusCode ? ` (HTTP ${$metadata.httpStatusCode})` : '';
  const what = name && name !== 'Error' ? `${name}: ` : '';
  return new StorageBackendError(`S3 ${what}${message || 'request failed'}${status}`, path, { cause: err });
}
