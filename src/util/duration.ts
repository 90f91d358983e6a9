const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "15m", "1h30m", "7d", "0" → milliseconds; anything else throws with the accepted forms. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== trimmed) {
    throw new Error(`invalid duration "${text}"; write e.g. 90s, 15m, 1h30m or 7d`);
  }
  return parts.reduce((total, p) => total + Number(p[1]) * UNITS[p[2]!]!, 0);
}

/** 5400000 → "1h30m"; for messages. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [['d', UNITS.d!], ['h', UNITS.h!], ['m', UNITS.m!], ['s', UNITS.s!]] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out || `${ms}ms`;
}
