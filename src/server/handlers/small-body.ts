import type { IncomingMessage } from 'node:http';
import { OciError } from '../../oci/errors.js';

/** A small request body (JSON, a form) as text; more than `limit` characters is refused, not buffered. */
export async function readSmallBody(body: IncomingMessage, limit = 64 * 1024): Promise<string> {
  let text = '';
  for await (const chunk of body) {
    text += chunk;
    if (text.length > limit) throw new OciError('UNSUPPORTED', 'request body too large', { status: 400 });
  }
  return text;
}
