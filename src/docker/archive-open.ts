import { stat } from 'node:fs/promises';
import { CliError, ExitCode } from '../cli/errors.js';
import type { RegistryClient } from '../client/client.js';
import { indexArchive, readDockerSave } from './archive.js';
import { pushArchiveImage, type ArchiveTransfer } from './archive-push.js';
import { layoutDirectory, layoutImages, pushLayoutImage } from './oci-layout.js';

/** One image of an archive, whatever its format, ready to push under any name. */
export interface ArchiveSource {
  /** The names the archive gives it: RepoTags of docker save, ref names of an OCI layout. */
  names: string[];
  push(client: RegistryClient, repository: string, tag: string, compress: boolean): Promise<ArchiveTransfer>;
}

/**
 * A `docker save` tarball, or an OCI image layout as a directory or a tarball. Files are read where
 * they lie; `workDir` holds only layers being gzipped for upload.
 */
export async function openArchive(path: string, workDir: string): Promise<ArchiveSource[]> {
  const info = await stat(path).catch(() => {
    throw new CliError(`no such archive: ${path}`, ExitCode.notFound);
  });
  const files = info.isDirectory() ? await layoutDirectory(path) : await indexArchive(path);
  if (files.has('manifest.json')) {
    return (await readDockerSave(files, path)).map((image) => ({
      names: image.repoTags,
      push: (client, repository, tag, compress) => pushArchiveImage(client, image, repository, tag, compress, workDir, path),
    }));
  }
  if (files.has('index.json')) {
    // Layout layers are stored compressed already: they go as they are.
    return (await layoutImages(files, path)).map((image) => ({
      names: image.names,
      push: (client, repository, tag) => pushLayoutImage(client, files, image, repository, tag, path),
    }));
  }
  throw new CliError(`${path} is neither a docker save archive nor an OCI image layout (no manifest.json or index.json)`);
}
