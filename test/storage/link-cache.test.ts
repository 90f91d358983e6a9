import { describe, expect, it } from 'vitest';
import { PathNotFoundError } from '../../src/storage/driver.js';
import { LinkCachingDriver } from '../../src/storage/link-cache.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import { describeDriverConformance } from './conformance.js';

// The cache must be invisible to everything that goes through it.
describeDriverConformance('link-caching (over memory)', async () => ({
  driver: new LinkCachingDriver(new MemoryDriver()),
  cleanup: async () => undefined,
}));

describe('link cache', () => {
  const link = '/repo/_manifests/tags/v1/current/link';

  function setup() {
    let now = 0;
    const inner = new MemoryDriver();
    const cached = new LinkCachingDriver(inner, 1000, () => now);
    return { inner, cached, advance: (ms: number) => (now += ms) };
  }

  it('sees its own writes and deletes at once', async () => {
    const { cached } = setup();
    await cached.putContent(link, 'sha256:a');
    expect((await cached.getContent(link)).toString()).toBe('sha256:a');
    await cached.putContent(link, 'sha256:b');
    expect((await cached.getContent(link)).toString()).toBe('sha256:b');
    await cached.delete('/repo/_manifests/tags/v1');
    await expect(cached.getContent(link)).rejects.toBeInstanceOf(PathNotFoundError);
    await expect(cached.stat(link)).rejects.toBeInstanceOf(PathNotFoundError);
  });

  it("sees another process's change once the TTL has passed", async () => {
    const { inner, cached, advance } = setup();
    await inner.putContent(link, 'sha256:a');
    expect((await cached.getContent(link)).toString()).toBe('sha256:a');
    await inner.putContent(link, 'sha256:b');
    advance(999);
    expect((await cached.getContent(link)).toString()).toBe('sha256:a');
    advance(2);
    expect((await cached.getContent(link)).toString()).toBe('sha256:b');
  });

  it('never caches a missing link', async () => {
    const { inner, cached } = setup();
    await expect(cached.stat(link)).rejects.toBeInstanceOf(PathNotFoundError);
    await inner.putContent(link, 'sha256:a');
    expect((await cached.stat(link)).size).toBe(8);
  });

  it('does not cache a read that a whole write overtook', async () => {
    const inner = new MemoryDriver();
    await inner.putContent(link, 'sha256:old');
    // The first read sees the old content but is held back until the write has finished.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const getContent = inner.getContent.bind(inner);
    let first = true;
    inner.getContent = async (path, max) => {
      const content = await getContent(path, max);
      if (first) {
        first = false;
        await held;
      }
      return content;
    };
    const cached = new LinkCachingDriver(inner, 60_000);
    const racing = cached.getContent(link);
    await cached.putContent(link, 'sha256:new');
    release();
    expect((await racing).toString()).toBe('sha256:old');
    expect((await cached.getContent(link)).toString()).toBe('sha256:new');
  });

  it('leaves everything but link files to the driver', async () => {
    const { inner, cached } = setup();
    await inner.putContent('/blob/data', 'one');
    expect((await cached.getContent('/blob/data')).toString()).toBe('one');
    await inner.putContent('/blob/data', 'two');
    expect((await cached.getContent('/blob/data')).toString()).toBe('two');
  });
});
