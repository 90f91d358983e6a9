// Resident memory of one process, read from /proc while work runs.
import { readFileSync } from 'node:fs';

const SAMPLE_MS = 50;

/**
 * @param {number} pid
 * @returns {{ rss: number, hwm: number } | undefined} bytes, or undefined once the process is gone
 */
function readStatus(pid) {
  let status;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  /** @param {string} field */
  const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/**
 * Tracks the largest VmRSS seen while `during` callbacks run, plus the kernel's own high-water mark.
 * @param {number} pid
 */
export function rssMonitor(pid) {
  let maxRss = 0;
  let hwm = 0;
  const sample = () => {
    const now = readStatus(pid);
    if (!now) return;
    maxRss = Math.max(maxRss, now.rss);
    hwm = Math.max(hwm, now.hwm);
  };
  return {
    /**
     * @template T
     * @param {() => Promise<T>} work
     * @returns {Promise<T>}
     */
    async during(work) {
      sample();
      const timer = setInterval(sample, SAMPLE_MS);
      try {
        return await work();
      } finally {
        clearInterval(timer);
        sample();
      }
    },
    peak: () => ({ maxRss, hwm }),
  };
}
