import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DigestInvalid, SizeInvalid } from './errors.js';

export type DigestAlgorithm = 'sha256' | 'sha512';

const ENCODED_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
// The spec's grammar allows other algorithms; a registry may refuse those it cannot verify.
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export interface Digest {
  readonly algorithm: DigestAlgorithm;
  readonly hex: string;
  /** `algorithm:hex` */
  readonly value: string;
}

/** Parses and validates a digest string; throws DIGEST_INVALID for anything the registry cannot verify. */
export function parseDigest(value: string): Digest {
  if (!DIGEST_GRAMMAR.test(value)) throw new DigestInvalid(`invalid digest "${truncate(value)}"`);
  const colon = value.indexOf(':');
  const algorithm = value.slice(0, colon);
  const hex = value.slice(colon + 1);
  if (algorithm !== 'sha256' && algorithm !== 'sha512') {
    throw new DigestInvalid(`unsupported digest algorithm "${truncate(algorithm)}"`);
  }
  if (hex.length !== ENCODED_LENGTH[algorithm] || !/^[a-f0-9]+$/.test(hex)) {
    throw new DigestInvalid(`invalid ${algorithm} digest "${truncate(value)}"`);
  }
  return { algorithm, hex, value };
}

export function isDigest(value: string): boolean {
  try {
    parseDigest(value);
    return true;
  } catch {
    return false;
  }
}

export function digestOf(data: Buffer | string, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * A pass-through that hashes and counts what flows through it, so a blob is verified while it
 * streams to storage instead of being read back afterwards. `resumeFrom` continues an earlier hash.
 */
export class DigestingStream extends Transform {
  private readonly hash: Hash;
  private count: number;

  constructor(algorithm: DigestAlgorithm = 'sha256', resumeFrom?: { hash: Hash; size: number }) {
    super();
    this.hash = resumeFrom ? resumeFrom.hash.copy() : createHash(algorithm);
    this.count = resumeFrom?.size ?? 0;
    this.algorithm = algorithm;
  }

  readonly algorithm: DigestAlgorithm;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.count += chunk.length;
    cb(null, chunk);
  }

  get size(): number {
    return this.count;
  }

  /** A copy of the running hash, to continue from in a later request. */
  snapshot(): { hash: Hash; size: number } {
    return { hash: this.hash.copy(), size: this.count };
  }

  digest(): string {
    return `${this.algorithm}:${this.hash.copy().digest('hex')}`;
  }
}

/** Checks a finished stream's digest and size against what the client claimed. */
export function verifyDigest(actual: { digest: string; size: number }, expected: Digest, expectedSize?: number): void {
  if (expectedSize !== undefined && actual.size !== expectedSize) {
    throw new SizeInvalid(`expected ${expectedSize} bytes, received ${actual.size}`);
  }
  if (actual.digest !== expected.value) {
    throw new DigestInvalid(`digest mismatch: expected ${expected.value}, content has ${actual.digest}`);
  }
}
