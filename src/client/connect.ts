import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RegistryClient } from './client.js';
import { credentialChain, DockerConfigStore, type Credentials } from './credentials.js';
import { clientHints, schemeOf } from './scheme.js';

export interface ConnectionOptions {
  /** Use HTTP even for a non-loopback registry. */
  plainHttp?: boolean;
  /** Skip TLS certificate verification. */
  insecure?: boolean;
  /** A PEM file with CA certificates to trust. */
  caFile?: string;
  /** Explicit credentials (flags or REGCTL_USERNAME/REGCTL_PASSWORD) over the stored login. */
  credentials?: Credentials;
  timeoutMs?: number;
  /** Where Docker keeps per-registry CAs (`<dir>/<host:port>/ca.crt`). */
  certsDir?: string;
  dockerConfig?: DockerConfigStore;
}

// Re-exported: callers that connect also ask whether a registry is loopback.
export { clientHints, isLoopback, schemeOf } from './scheme.js';

export const DOCKER_CERTS_DIR = '/etc/docker/certs.d';

/** A client for one registry with the scheme, TLS trust and credentials the options and Docker's conventions give. */
export async function connect(registry: string, scheme: 'http' | 'https' | undefined, options: ConnectionOptions = {}): Promise<RegistryClient> {
  const effective = schemeOf(registry, scheme, options.plainHttp);
  const ca: string[] = [];
  if (options.caFile) ca.push(await readFile(options.caFile, 'utf8'));
  const dockerCa = await readFile(join(options.certsDir ?? DOCKER_CERTS_DIR, registry, 'ca.crt'), 'utf8').catch(() => undefined);
  if (dockerCa) ca.push(dockerCa);
  return new RegistryClient({
    registry,
    scheme: effective,
    tls: { ca: ca.length ? [...(await systemRoots()), ...ca] : undefined, insecure: options.insecure },
    credentials: credentialChain(options.credentials, options.dockerConfig ?? new DockerConfigStore()),
    timeoutMs: options.timeoutMs,
    userAgent: 'regctl',
    hints: clientHints(registry, scheme, options),
  });
}

/** Adding a CA must not drop the public roots Node trusts by default. */
async function systemRoots(): Promise<readonly string[]> {
  const { rootCertificates } = await import('node:tls');
  return rootCertificates;
}

/** REGCTL_USERNAME / REGCTL_PASSWORD, when both are set. */
export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  return env.REGCTL_USERNAME && env.REGCTL_PASSWORD ? { username: env.REGCTL_USERNAME, password: env.REGCTL_PASSWORD } : undefined;
}
