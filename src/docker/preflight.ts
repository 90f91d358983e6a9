import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { CliError } from '../cli/errors.js';
import { isLoopback } from '../client/connect.js';
import type { EngineRegistryConfig } from './engine.js';

export interface RegistryTarget {
  registry: string;
  scheme?: 'http' | 'https';
}

/**
 * The engine speaks plain HTTP only to loopback registries and those daemon.json lists as
 * insecure; anything else fails deep inside a push with "server gave HTTP response to HTTPS client".
 * Saying so up front, with the fix, saves the user that puzzle. The engine's settings are asked for
 * only then: HTTPS and loopback registries skip the call.
 */
export async function assertEngineAcceptsPlainHttp(target: RegistryTarget, plainHttp: boolean, settings: () => Promise<EngineRegistryConfig>): Promise<void> {
  const scheme = target.scheme ?? (plainHttp || isLoopback(target.registry) ? 'http' : 'https');
  if (scheme === 'https' || isLoopback(target.registry)) return;
  const config = await settings();
  if (config.secure[target.registry] === false) return;
  if (await inInsecureCidrs(hostOf(target.registry), config.insecureCidrs)) return;
  throw new CliError(
    `the Docker engine will not talk plain HTTP to ${target.registry}: add it to "insecure-registries" in /etc/docker/daemon.json ` +
      `({"insecure-registries": ["${target.registry}"]}), restart dockerd, and try again; or serve the registry over HTTPS`,
  );
}

function hostOf(registry: string): string {
  return registry.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
}

async function inInsecureCidrs(host: string, cidrs: string[]): Promise<boolean> {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [network, prefix] = cidr.split('/');
    const family = isIP(network ?? '');
    if (family) list.addSubnet(network!, Number(prefix), family === 6 ? 'ipv6' : 'ipv4');
  }
  const addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await lookup(host, { all: true }).catch(() => []);
  return addresses.some((a) => list.check(a.address, a.family === 6 ? 'ipv6' : 'ipv4'));
}
