/**
 * The distribution-spec error codes, each with its HTTP status, in one table. Every error a client
 * can see is an OciError; the server writes `{errors:[{code,message,detail}]}` from it and the client
 * decodes such bodies back into the same classes (see `ociErrorFromBody`).
 */
export const ERROR_CODES = {
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 400, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { status: 404, message: 'manifest references a manifest or blob unknown to registry' },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown to registry' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  DENIED: { status: 403, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 405, message: 'the operation is unsupported' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests' },
  // Not in the spec's table, but used by the Docker registry API and expected by its clients.
  TAG_INVALID: { status: 400, message: 'manifest tag did not match URI' },
  RANGE_INVALID: { status: 416, message: 'requested range not satisfiable' },
  UNAVAILABLE: { status: 503, message: 'service unavailable' },
  NOT_FOUND: { status: 404, message: 'no such endpoint' },
  PAGINATION_NUMBER_INVALID: { status: 400, message: 'invalid number of results requested' },
  UNKNOWN: { status: 500, message: 'unknown error' },
} as const;

export type OciErrorCode = keyof typeof ERROR_CODES;

export interface OciErrorBody {
  code: string;
  message: string;
  detail?: unknown;
}

export class OciError extends Error {
  readonly code: OciErrorCode;
  readonly status: number;
  readonly detail: unknown;
  /** Response headers the error needs, such as an auth challenge. */
  readonly headers: Record<string, string> | undefined;

  constructor(code: OciErrorCode, message?: string, options: OciErrorOptions = {}) {
    super(message ?? ERROR_CODES[code].message, { cause: options.cause });
    this.name = 'OciError';
    this.code = code;
    this.status = options.status ?? ERROR_CODES[code].status;
    this.detail = options.detail;
    this.headers = options.headers;
  }

  toJSON(): OciErrorBody {
    const body: OciErrorBody = { code: this.code, message: this.message };
    if (this.detail !== undefined) body.detail = this.detail;
    return body;
  }
}

interface OciErrorOptions {
  detail?: unknown;
  status?: number;
  cause?: unknown;
  headers?: Record<string, string>;
}

type Ctor = new (message?: string, options?: OciErrorOptions) => OciError;

function errorClass(code: OciErrorCode, name: string): Ctor {
  const cls = class extends OciError {
    constructor(message?: string, options?: OciErrorOptions) {
      super(code, message, options);
      this.name = name;
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

export const BlobUnknown = errorClass('BLOB_UNKNOWN', 'BlobUnknown');
export const BlobUploadInvalid = errorClass('BLOB_UPLOAD_INVALID', 'BlobUploadInvalid');
export const BlobUploadUnknown = errorClass('BLOB_UPLOAD_UNKNOWN', 'BlobUploadUnknown');
export const DigestInvalid = errorClass('DIGEST_INVALID', 'DigestInvalid');
export const ManifestBlobUnknown = errorClass('MANIFEST_BLOB_UNKNOWN', 'ManifestBlobUnknown');
export const ManifestInvalid = errorClass('MANIFEST_INVALID', 'ManifestInvalid');
export const ManifestUnknown = errorClass('MANIFEST_UNKNOWN', 'ManifestUnknown');
export const NameInvalid = errorClass('NAME_INVALID', 'NameInvalid');
export const NameUnknown = errorClass('NAME_UNKNOWN', 'NameUnknown');
export const SizeInvalid = errorClass('SIZE_INVALID', 'SizeInvalid');
export const Unauthorized = errorClass('UNAUTHORIZED', 'Unauthorized');
export const Denied = errorClass('DENIED', 'Denied');
export const Unsupported = errorClass('UNSUPPORTED', 'Unsupported');
export const TooManyRequests = errorClass('TOOMANYREQUESTS', 'TooManyRequests');
export const TagInvalid = errorClass('TAG_INVALID', 'TagInvalid');
export const RangeInvalid = errorClass('RANGE_INVALID', 'RangeInvalid');
export const Unavailable = errorClass('UNAVAILABLE', 'Unavailable');
export const NotFound = errorClass('NOT_FOUND', 'NotFound');
export const PaginationNumberInvalid = errorClass('PAGINATION_NUMBER_INVALID', 'PaginationNumberInvalid');
export const UnknownError = errorClass('UNKNOWN', 'UnknownError');

export function isOciErrorCode(code: string): code is OciErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
}

/** Turns a registry's error response back into an OciError (first error of the body). */
export function ociErrorFromBody(status: number, body: unknown): OciError | undefined {
  const first = (body as { errors?: OciErrorBody[] } | undefined)?.errors?.[0];
  if (!first || typeof first.code !== 'string' || !isOciErrorCode(first.code)) return undefined;
  return new OciError(first.code, first.message || undefined, { detail: first.detail, status });
}
