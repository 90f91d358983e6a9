import type { IncomingMessage } from 'node:http';
import { OciError } from '../../oci/errors.js';

/** A small request body (JSON, a form) as text; more than `limit` characters is refused, not buffered. */
export async function readSmallBody(body: IncomingMessage, limit = 64 * 1024): Promise<string> {
  let text = '';
  // Decoded as a stream, so a multi-byte character split across chunks stays whole.
  body.setEncoding('utf8');
  for await (const chunk of body) {
    text += chunk;
    if (text.length > limit) throw badRequest('request body too large');
  }
  return text;
}

/** 400 for a request body the handler cannot take (malformed JSON or form, missing fields). */
export function badRequest(message: string): OciError {
  return new OciError('UNSUPPORTED', message, { status: 400 });
}
