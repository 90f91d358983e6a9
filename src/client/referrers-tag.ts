import { MediaTypes, type Descriptor } from '../oci/manifest.js';
import type { RegistryClient } from './client.js';

/**
 * Makes sure a just-pushed referrer can be found from its subject. Registries with the referrers API
 * list it by themselves; on those without (the CNCF registry), clients keep the list in an index
 * tagged `<alg>-<hex>` of the subject (distribution-spec, "referrers tag schema"), and so do we.
 */
export async function ensureReferrerListed(
  client: RegistryClient,
  repository: string,
  subject: string,
  referrer: Descriptor,
  signal?: AbortSignal,
): Promise<void> {
  // client.referrers already falls back to the tag, so `listed` is the tag's index where there is no API.
  const listed = await client.referrers(repository, subject, { signal });
  if (listed.some((d) => d.digest === referrer.digest)) return;
  const index = { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [...listed, referrer] };
  await client.putManifest(repository, subject.replace(':', '-'), Buffer.from(JSON.stringify(index)), MediaTypes.ociIndex, signal);
}
