// The RegistryClient and `regctl catalog` against the CNCF registry, open, behind htpasswd, and
// behind Bearer tokens from a real token issuer: everything pushed is read back byte for byte.
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { hashSync } from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegistryClient } from '../../src/client/client.js';
import { connect } from '../../src/client/connect.js';
import { DockerConfigStore, type Credentials } from '../../src/client/credentials.js';
import { AuthError } from '../../src/client/errors.js';
import { startCncfRegistry, type CncfAuth } from '../helpers/cncf-registry.js';
import { runCli } from '../helpers/cli.js';
import { buildImage, randomBlob, uniqueRepo, type Blob } from '../helpers/fixtures.js';
import { INTEROP_TIMEOUT_MS, interopGate, tempDir, type TempDir } from '../helpers/interop.js';
import { startTokenServer, type TokenServer } from '../helpers/token-server.js';

const LOGIN: Credentials = { username: 'alice', password: `pw-${randomBytes(6).toString('hex')}` };
const WRONG: Credentials = { username: 'alice', password: 'not-the-password' };

interface AuthMode {
  name: string;
  /** The registry's `auth:` section, with whatever serves it (the token issuer) started. */
  setup(): Promise<{ auth?: CncfAuth; stop(): Promise<void> }>;
}

const MODES: AuthMode[] = [
  { name: 'without auth', setup: async () => ({ stop: async () => undefined }) },
  {
    name: 'with htpasswd auth',
    // Cost 5 (bcrypt allows 4 and up): the registry checks the hash on every request.
    setup: async () => ({ auth: { htpasswd: `${LOGIN.username}:${hashSync(LOGIN.password, 5)}\n` }, stop: async () => undefined }),
  },
  {
    name: 'with Bearer-token auth',
    async setup() {
      const tokens: TokenServer = await startTokenServer({
        service: 'cncf-interop',
        users: {
          [LOGIN.username]: {
            password: LOGIN.password,
            grants: [
              { type: 'repository', name: 'client/*', actions: ['pull', 'push'] },
              // The CNCF registry lists repositories only for this scope.
              { type: 'registry', name: 'catalog', actions: ['*'] },
            ],
          },
        },
      });
      return {
        auth: { token: { realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, certificate: tokens.certificate } },
        stop: () => tokens.close(),
      };
    },
  },
];

const ready = interopGate('RegistryClient against the CNCF registry', ['docker-registry']);

describe.runIf(ready)('RegistryClient and regctl catalog against the CNCF registry', () => {
  for (const mode of MODES) {
    describe(mode.name, { timeout: INTEROP_TIMEOUT_MS }, () => {
      const authed = mode.name !== 'without auth';
      let work: TempDir;
      let stopAuth: (() => Promise<void>) | undefined;
      let registry: Awaited<ReturnType<typeof startCncfRegistry>> | undefined;
      let client: RegistryClient | undefined;
      /** DOCKER_CONFIG directories: one holding the login, one empty. */
      let withLogin: string;
      let empty: string;
      /** Every repository written to, so the catalog is known exactly. */
      const written = new Set<string>();
      const catalog = (): string[] => [...written].sort();

      beforeAll(async () => {
        work = await tempDir('client-cncf');
        const { auth, stop } = await mode.setup();
        stopAuth = stop;
        registry = await startCncfRegistry({ root: join(work.path, 'root'), auth });
        withLogin = join(work.path, 'docker-login');
        empty = join(work.path, 'docker-empty');
        await mkdir(empty);
        await new DockerConfigStore(join(withLogin, 'config.json')).set(registry.host, LOGIN);
        // The client finds the login where `docker login` would have stored it.
        client = await connect(registry.host, undefined, {
          dockerConfig: new DockerConfigStore(join(withLogin, 'config.json')),
          certsDir: join(work.path, 'no-certs.d'),
        });
      }, INTEROP_TIMEOUT_MS);

      afterAll(async () => {
        await client?.close();
        await registry?.stop();
        await stopAuth?.();
        await work?.remove();
      }, INTEROP_TIMEOUT_MS);

      async function pushImage(repo: string, tag: string, chunkSize?: number): Promise<ReturnType<typeof buildImage>> {
        const image = buildImage({ layers: 2, layerSize: 200 * 1024 });
        for (const blob of image.blobs) await pushBlob(repo, blob, chunkSize);
        const { manifest } = image;
        expect(await client!.putManifest(repo, tag, manifest.body, manifest.mediaType)).toBe(manifest.digest);
        return image;
      }

      async function pushBlob(repo: string, blob: Blob, chunkSize?: number): Promise<void> {
        written.add(repo);
        await client!.pushBlob(repo, blob.digest, blob.size, () => Readable.from([blob.data]), { chunkSize });
      }

      it.each([
        ['in one PUT per blob', undefined],
        ['in 64 KiB chunks', 64 * 1024],
      ])('pushes an image %s and reads it back', async (_how, chunkSize) => {
        const repo = uniqueRepo('client');
        const image = await pushImage(repo, 'v1', chunkSize);

        const manifest = await client!.getManifest(repo, 'v1');
        expect(manifest.body.equals(image.manifest.body)).toBe(true);
        expect(manifest).toMatchObject({ digest: image.manifest.digest, mediaType: image.manifest.mediaType });
        expect(await client!.headManifest(repo, image.manifest.digest)).toEqual({
          digest: image.manifest.digest,
          mediaType: image.manifest.mediaType,
          size: image.manifest.size,
        });
        for (const blob of image.blobs) {
          const { size, stream } = await client!.getBlob(repo, blob.digest);
          expect(size).toBe(blob.size);
          expect((await buffer(stream)).equals(blob.data)).toBe(true);
          expect(await client!.headBlob(repo, blob.digest)).toBe(blob.size);
        }
        expect(await client!.tags(repo)).toEqual(['v1']);
      });

      it('mounts a blob from another repository', async () => {
        const from = uniqueRepo('client');
        const to = uniqueRepo('client');
        const blob = randomBlob(4096);
        await pushBlob(from, blob);
        written.add(to);
        expect(await client!.mountBlob(to, blob.digest, from)).toBe(true);
        expect(await client!.headBlob(to, blob.digest)).toBe(blob.size);
      });

      it('lists the catalog, following pagination', async () => {
        for (let i = 0; i < 2; i++) await pushImage(uniqueRepo('client'), 'latest');
        expect(await client!.catalog({ pageSize: 1 })).toEqual(catalog());
        expect(await client!.catalog({ limit: 1 })).toHaveLength(1);
      });

      /** `regctl catalog HOST --json` with only the credentials `env` gives (no login of this machine's). */
      function catalogCli(env: NodeJS.ProcessEnv) {
        return runCli(['catalog', registry!.host, '--json'], {
          env: { DOCKER_CONFIG: empty, REGCTL_USERNAME: '', REGCTL_PASSWORD: '', ...env },
        });
      }

      const credentialSources: [string, () => NodeJS.ProcessEnv][] = [
        ['REGCTL_USERNAME and REGCTL_PASSWORD', () => ({ REGCTL_USERNAME: LOGIN.username, REGCTL_PASSWORD: LOGIN.password })],
        ['a Docker config file (DOCKER_CONFIG)', () => ({ DOCKER_CONFIG: withLogin })],
      ];
      it.each(credentialSources)('`regctl catalog` lists the repositories with credentials from %s', async (_source, env) => {
        if (written.size === 0) await pushImage(uniqueRepo('client'), 'latest');
        const result = await catalogCli(env());
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        expect(JSON.parse(result.stdout)).toEqual({ registry: registry!.host, repositories: catalog() });
      });

      it.runIf(authed)('`regctl catalog` exits with 4 for wrong credentials, and for none', async () => {
        const wrong = await catalogCli({ REGCTL_USERNAME: WRONG.username, REGCTL_PASSWORD: WRONG.password });
        expect(JSON.parse(wrong.stdout).error).toMatchObject({ exitCode: 4 });
        expect(wrong.stderr).toMatch(/refused the credentials for alice/);
        expect(wrong.code).toBe(4);

        const none = await catalogCli({});
        expect(none.stderr).toContain(`regctl login ${registry!.host}`);
        expect(none.code).toBe(4);
      });

      it.runIf(authed)('the client refuses to go on with wrong credentials', async () => {
        const wrong = await connect(registry!.host, undefined, {
          credentials: WRONG,
          dockerConfig: new DockerConfigStore(join(empty, 'config.json')),
          certsDir: join(work.path, 'no-certs.d'),
        });
        try {
          await expect(wrong.tags(uniqueRepo('client'))).rejects.toBeInstanceOf(AuthError);
        } finally {
          await wrong.close();
        }
      });
    });
  }
});
