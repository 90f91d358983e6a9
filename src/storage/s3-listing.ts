import { ListObjectsV2Command, type _Object } from '@aws-sdk/client-s3';
import { InvalidPathError } from './driver.js';
import type { S3Bucket } from './s3-bucket.js';

/** The direct children of a directory, each name once, sorted as the other drivers sort them. */
export interface Children {
  files: Map<string, { size: number; modTime: Date }>;
  dirs: Set<string>;
}

/**
 * Every page of a listing under `prefix`. With `delimiter: '/'` S3 groups everything below a child
 * directory into one CommonPrefix, so a directory costs one request per 1,000 children however much
 * lies below them: this is what keeps catalog and gc listings off the objects themselves.
 */
export async function* listPages(
  bucket: S3Bucket,
  prefix: string,
  options: { delimiter?: string; maxKeys?: number } = {},
): AsyncGenerator<{ objects: _Object[]; prefixes: string[] }> {
  let token: string | undefined;
  do {
    const page = await bucket.client.send(
      new ListObjectsV2Command({
        Bucket: bucket.name,
        Prefix: prefix,
        Delimiter: options.delimiter,
        MaxKeys: options.maxKeys,
        ContinuationToken: token,
      }),
    );
    yield {
      objects: page.Contents ?? [],
      prefixes: (page.CommonPrefixes ?? []).flatMap((p) => (p.Prefix ? [p.Prefix] : [])),
    };
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/** The children of the directory whose keys start with `prefix` (which ends in "/"). */
export async function listChildren(bucket: S3Bucket, prefix: string): Promise<Children> {
  const files = new Map<string, { size: number; modTime: Date }>();
  const dirs = new Set<string>();
  for await (const { objects, prefixes } of listPages(bucket, prefix, { delimiter: '/' })) {
    for (const o of objects) {
      const name = o.Key!.slice(prefix.length);
      // A key ending in "/" is a folder marker some S3 tools write; it is no object of ours.
      if (name) files.set(name, { size: o.Size ?? 0, modTime: o.LastModified ?? new Date(0) });
    }
    for (const p of prefixes) {
      const name = p.slice(prefix.length, -1);
      if (name) dirs.add(name);
    }
  }
  return { files, dirs };
}

export function childNames(children: Children): string[] {
  return [...new Set([...children.files.keys(), ...children.dirs])].sort();
}

/**
 * The directories below the one whose keys start with `prefix` that hold a directory named one of
 * `markers` (each starting with "_"), as paths relative to it, sorted; nothing inside a directory
 * whose name starts with "_" is considered. One listing per marker, with the marker as delimiter:
 * S3 folds everything below each "<dir>/<marker>/" into one CommonPrefix, so `_catalog` over 1,000
 * repositories is a page or two per marker instead of a listing per repository.
 */
export async function findDirsWith(bucket: S3Bucket, prefix: string, markers: readonly string[]): Promise<string[] | undefined> {
  const found = new Set<string>();
  let anything = false;
  for (const marker of markers) {
    if (!/^_[A-Za-z0-9._-]+$/.test(marker)) throw new InvalidPathError(marker, 'a marker must be one name starting with "_"');
    const delimiter = `/${marker}/`;
    for await (const { objects, prefixes } of listPages(bucket, prefix, { delimiter })) {
      anything ||= objects.length > 0 || prefixes.length > 0;
      for (const p of prefixes) {
        const dir = p.slice(prefix.length, -delimiter.length);
        if (dir && !`/${dir}`.includes('/_')) found.add(dir);
      }
    }
  }
  return anything ? [...found].sort() : undefined;
}
