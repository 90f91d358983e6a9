import { readFileSync } from 'node:fs';

/** From package.json, so `regctl --version` can never disagree with the published package. */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
