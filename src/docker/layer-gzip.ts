import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { promisify } from 'node:util';
import { createGzip, gzip, type Gzip } from 'node:zlib';

/** A file whose bytes can be read from any offset. */
export interface Sampled {
  size: number;
  open(range?: { start: number; end: number }): Readable;
}

/** Slices of the data compressed to judge the whole, spread over it. */
const SAMPLES = 4;
const SAMPLE_BYTES = 256 * 1024;
// Deflate saving less than this on the samples is finding next to nothing to save.
const INCOMPRESSIBLE_RATIO = 0.97;
const gzipBuffer = promisify(gzip);

/**
 * A gzip stream suited to `file`, judged by compressing a few slices of it: the default deflate, or
 * for data that does not compress (compressed files, random bytes) stored deflate blocks, the same
 * size ten times faster than a deflate search that finds nothing (as the engine's and skopeo's
 * compressors do too). Either way the result is ordinary gzip that any engine unpacks.
 */
export async function gzipFor(file: Sampled, chunkSize: number): Promise<Gzip> {
  const sample = await sampleOf(file);
  if (sample.length === 0) return createGzip({ chunkSize });
  const packed = await gzipBuffer(sample);
  return createGzip({ chunkSize, ...(packed.length / sample.length >= INCOMPRESSIBLE_RATIO && { level: 0 }) });
}

async function sampleOf(file: Sampled): Promise<Buffer> {
  if (file.size <= SAMPLES * SAMPLE_BYTES) return buffer(file.open());
  const step = Math.floor((file.size - SAMPLE_BYTES) / (SAMPLES - 1));
  const slices = await Promise.all(Array.from({ length: SAMPLES }, (_, i) => buffer(file.open({ start: i * step, end: i * step + SAMPLE_BYTES - 1 }))));
  return Buffer.concat(slices);
}
