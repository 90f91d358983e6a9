import type { ConnectionOptions } from './connect.js';
import type { TransportHints } from './transport.js';

/** Loopback registries speak plain HTTP by default, as Docker assumes. */
export function isLoopback(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** An explicit scheme, else HTTP with --plain-http or for loopback, else HTTPS. */
export function schemeOf(registry: string, scheme: 'http' | 'https' | undefined, plainHttp?: boolean): 'http' | 'https' {
  return scheme ?? (plainHttp || isLoopback(registry) ? 'http' : 'https');
}

/**
 * What the errors of a client should tell the user to do, in terms of how they reached the
 * registry: a login command that reaches it the same way (scheme, CA, --insecure), and how to
 * switch to HTTPS without naming a flag they never passed.
 */
export function clientHints(registry: string, scheme: 'http' | 'https' | undefined, options: ConnectionOptions = {}): TransportHints {
  const effective = schemeOf(registry, scheme, options.plainHttp);
  const prefix = effective === schemeOf(registry, undefined) ? '' : `${effective}://`;
  const flags = `${options.caFile ? ` --ca-file ${options.caFile}` : ''}${options.insecure ? ' --insecure' : ''}`;
  const https =
    scheme === 'http' ? `write https://${registry}` : options.plainHttp ? `drop --plain-http, or write https://${registry}` : `use https://${registry}`;
  return { login: `regctl login ${prefix}${registry}${flags}`, https };
}
