import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Deliveries to an endpoint with a `secret` carry `X-Regctl-Signature: sha256=<hex>`: the HMAC-SHA256
 * of the exact body bytes under the secret (the format GitHub uses for its webhooks, so receivers
 * often have the check already). The body holds each event's id and timestamp, so a receiver can also
 * refuse replays.
 */
export const SIGNATURE_HEADER = 'X-Regctl-Signature';

export function signBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** For receivers (and tests): compares in constant time. */
export function verifySignature(secret: string, body: string | Buffer, header: string | undefined): boolean {
  if (header === undefined) return false;
  const expected = Buffer.from(signBody(secret, body));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
