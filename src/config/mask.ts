import type { ServeConfig } from './schema.js';

export const MASK = '********';

/** Header names whose values are credentials. */
const SECRET_HEADERS = /^(authorization|proxy-authorization|cookie|x-api-key)$/i;

/**
 * A copy safe to print: passwords, S3 secret keys, notification secrets and credential headers are
 * replaced by a mask (present stays visibly present). File paths stay: they are not secrets.
 */
export function maskSecrets(config: ServeConfig): ServeConfig {
  const copy = structuredClone(config);
  const storage = copy.storage;
  if (storage.driver === 's3' && storage.s3.secretKey) storage.s3.secretKey = MASK;
  for (const endpoint of copy.notifications.endpoints) {
    if (endpoint.secret) endpoint.secret = MASK;
    for (const name of Object.keys(endpoint.headers)) {
      if (SECRET_HEADERS.test(name)) endpoint.headers[name] = endpoint.headers[name]!.map(() => MASK);
    }
  }
  for (const upstream of copy.proxy.upstreams) if (upstream.password) upstream.password = MASK;
  return copy;
}
