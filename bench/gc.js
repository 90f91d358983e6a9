// Garbage collection of a generated store, regctl against `docker-registry garbage-collect`, each on
// its own copy of the same tree (written straight to disk in the CNCF layout).
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/**
 * `manifests` image manifests over `repositories` repositories, each with a config and three layers
 * drawn from a pool so layers are shared, half of them tagged; then garbage blobs up to `blobs`.
 * @param {string} root
 * @param {{ manifests: number, blobs: number, repositories: number }} size
 */
export async function generateStore(root, { manifests, blobs, repositories }) {
  const v2 = join(root, 'docker/registry/v2');
  const writeBlob = async (data) => {
    const hex = createHash('sha256').update(data).digest('hex');
    const dir = join(v2, 'blobs/sha256', hex.slice(0, 2), hex);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'data'), data);
    return { digest: `sha256:${hex}`, size: data.length };
  };
  const link = async (path, digest) => {
    await mkdir(join(v2, path), { recursive: true });
    await writeFile(join(v2, path, 'link'), digest);
  };
  const layerPool = [];
  const layerPoolSize = Math.max(1, blobs - manifests * 2);
  let written = 0;
  for (let m = 0; m < manifests; m++) {
    const repo = `bench/repo${m % repositories}`;
    const config = await writeBlob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', n: m })));
    const layers = [];
    for (let l = 0; l < 3; l++) {
      const reuse = layerPool.length >= layerPoolSize || (layerPool.length > 0 && Math.random() < 0.3);
      const layer = reuse ? layerPool[Math.floor(Math.random() * layerPool.length)] : await writeBlob(randomBytes(64));
      if (!reuse) layerPool.push(layer);
      layers.push(layer);
    }
    const manifest = await writeBlob(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
          layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...l })),
        }),
      ),
    );
    const hex = (d) => d.slice('sha256:'.length);
    for (const b of [config, ...layers]) await link(`repositories/${repo}/_layers/sha256/${hex(b.digest)}`, b.digest);
    await link(`repositories/${repo}/_manifests/revisions/sha256/${hex(manifest.digest)}`, manifest.digest);
    if (m % 2 === 0) {
      await link(`repositories/${repo}/_manifests/tags/t${m}/current`, manifest.digest);
      await link(`repositories/${repo}/_manifests/tags/t${m}/index/sha256/${hex(manifest.digest)}`, manifest.digest);
    }
    written += 2 + layers.length;
  }
  const blobCount = manifests * 2 + layerPool.length;
  for (let g = blobCount; g < blobs; g++) await writeBlob(randomBytes(32));
  return { blobs: Math.max(blobs, blobCount), manifests, written };
}

/** @param {string} command @param {string[]} args */
function timed(command, args) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve((performance.now() - started) / 1000) : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`)),
    );
  });
}

/**
 * @param {string} work a scratch directory
 * @param {{ manifests: number, blobs: number, repositories: number }} size
 * @param {boolean} withCncf
 */
export async function benchGc(work, size, withCncf) {
  const source = join(work, 'gc-source');
  await generateStore(source, size);
  const ours = join(work, 'gc-regctl');
  const theirs = join(work, 'gc-cncf');
  await cp(source, ours, { recursive: true });
  const regctl = await timed(process.execPath, ['bin/regctl.js', 'gc', '--root', ours, '--grace', '0', '--yes', '--json']);
  let cncf;
  if (withCncf) {
    await cp(source, theirs, { recursive: true });
    const config = join(work, 'gc-cncf.yml');
    await writeFile(config, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${theirs}\n`);
    cncf = await timed('docker-registry', ['garbage-collect', config]);
  }
  return { regctl, cncf };
}
