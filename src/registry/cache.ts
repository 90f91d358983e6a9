import type { StoredManifest } from './manifests.js';

/** Told of every lookup (the metrics count hits and misses). */
export interface CacheStats {
  hit(): void;
  miss(): void;
}

/**
 * Manifests by digest, least recently used first out, bounded in bytes. Content addressed by digest
 * never changes, so entries need no invalidation; deletes only remove links, which are checked apart.
 */
export class ContentCache {
  private readonly entries = new Map<string, StoredManifest>();
  private bytes = 0;

  constructor(
    private readonly maxBytes = 32 * 1024 * 1024,
    private readonly stats?: CacheStats,
  ) {}

  get(digest: string): StoredManifest | undefined {
    const entry = this.entries.get(digest);
    if (entry) {
      this.entries.delete(digest);
      this.entries.set(digest, entry);
      this.stats?.hit();
    } else {
      this.stats?.miss();
    }
    return entry;
  }

  set(digest: string, entry: StoredManifest): void {
    if (entry.body.length > this.maxBytes) return;
    const old = this.entries.get(digest);
    if (old) {
      this.entries.delete(digest);
      this.bytes -= old.body.length;
    }
    this.entries.set(digest, entry);
    this.bytes += entry.body.length;
    for (const [key, value] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(key);
      this.bytes -= value.body.length;
    }
  }
}
