import type { WalkEntry } from './driver.js';
import type { Children } from './s3-listing.js';

type Visit = (entry: WalkEntry) => void | 'skip' | Promise<void | 'skip'>;

/** Directory listings requested at once, per walk. */
const LISTINGS_IN_FLIGHT = 16;

export interface WalkSource {
  /** The children of a directory; empty when it no longer exists. */
  children(path: string): Promise<Children>;
  /** Bumped by every change made through the driver. */
  generation(): number;
}

interface Prefetch {
  generation: number;
  listing: Promise<Children>;
}

/**
 * Depth first in sorted order, one delimiter listing per directory. On S3 each listing is a round
 * trip, so a walk over 1,000 repositories would spend its time waiting; the walk therefore lists the
 * next sibling directories ahead while the visitor works, once the visitor has shown (by descending
 * into the previous sibling) that it descends at this level. A listing fetched ahead is used only if
 * nothing was changed through the driver since it started, so a visitor that deletes what it visits
 * sees the tree as it left it.
 */
export async function walkListing(source: WalkSource, path: string, top: Children, visit: Visit): Promise<void> {
  let active = 0;
  const waiting: (() => void)[] = [];
  const limited = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= LISTINGS_IN_FLIGHT) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
  const list = (dir: string): Prefetch => {
    const generation = source.generation();
    const listing = limited(() => source.children(dir));
    // Marked handled: a listing fetched ahead and then not needed must not fail the walk.
    listing.catch(() => undefined);
    return { generation, listing };
  };

  const walkDir = async (dir: string, children: Children): Promise<void> => {
    const names = [...new Set([...children.files.keys(), ...children.dirs])].sort();
    const entries = names.flatMap((name): WalkEntry[] => {
      const child = `${dir}/${name}`;
      // An object and a directory may share a name in S3 (never in a filesystem): visit both.
      return [
        ...(children.files.has(name) ? [{ path: child, isDir: false }] : []),
        ...(children.dirs.has(name) ? [{ path: child, isDir: true }] : []),
      ];
    });
    const ahead = new Map<string, Prefetch>();
    let cursor = 0;
    let descending = false;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      cursor = Math.max(cursor, i);
      while (descending && cursor < entries.length && ahead.size < LISTINGS_IN_FLIGHT) {
        const next = entries[cursor++]!;
        if (next.isDir) ahead.set(next.path, list(next.path));
      }
      const decision = await visit(entry);
      if (!entry.isDir) continue;
      const fetched = ahead.get(entry.path);
      ahead.delete(entry.path);
      descending = decision !== 'skip';
      if (!descending) continue;
      const listing = fetched && fetched.generation === source.generation() ? await fetched.listing : await source.children(entry.path);
      await walkDir(entry.path, listing);
    }
  };

  await walkDir(path, top);
}
