import { describe, expect, it } from 'vitest';
import { assertEngineAcceptsPlainHttp } from '../../src/docker/preflight.js';

const CONFIG = { insecureCidrs: ['127.0.0.0/8'], secure: { 'docker.io': true } };
const DEFAULTS = () => Promise.resolve(CONFIG);
const never = () => Promise.reject(new Error('the engine was asked, but need not be'));

describe('assertEngineAcceptsPlainHttp', () => {
  it('lets HTTPS and loopback registries through', async () => {
    await assertEngineAcceptsPlainHttp({ registry: 'registry.example.com' }, false, never);
    await assertEngineAcceptsPlainHttp({ registry: 'localhost:5000' }, false, never);
    await assertEngineAcceptsPlainHttp({ registry: '127.0.0.1:5000', scheme: 'http' }, true, never);
  });

  it('explains insecure-registries for plain HTTP to another host the engine does not list', async () => {
    const refused = assertEngineAcceptsPlainHttp({ registry: '192.0.2.1:5000', scheme: 'http' }, false, DEFAULTS);
    await expect(refused).rejects.toThrow(/will not talk plain HTTP to 192\.0\.2\.1:5000: add it to "insecure-registries" in \/etc\/docker\/daemon.json/);
    await expect(assertEngineAcceptsPlainHttp({ registry: '192.0.2.1:5000' }, true, DEFAULTS)).rejects.toThrow(/insecure-registries/);
  });

  it('accepts a host daemon.json names, by name or by CIDR', async () => {
    await assertEngineAcceptsPlainHttp({ registry: '192.0.2.1:5000', scheme: 'http' }, false, () => Promise.resolve({ ...CONFIG, secure: { '192.0.2.1:5000': false } }));
    await assertEngineAcceptsPlainHttp({ registry: '192.0.2.1:5000', scheme: 'http' }, false, () => Promise.resolve({ ...CONFIG, insecureCidrs: ['192.0.2.0/24'] }));
  });
});
