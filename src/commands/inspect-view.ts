import type { ChalkInstance } from 'chalk';
import { formatBytes, formatTable } from '../cli/style.js';
import { formatPlatform, type ImageInspection, type IndexInspection, type Inspection } from '../client/inspect.js';

/** `regctl inspect` for people: a block of fields, then a table of layers or platforms. */
export function renderInspection(reference: string, inspection: Inspection, style: ChalkInstance): string {
  const fields: [string, string | undefined][] = [
    ['Reference', reference],
    ['Digest', inspection.digest],
    ['Media type', inspection.mediaType],
    ['Artifact type', inspection.artifactType],
    ['Size', `${formatBytes(inspection.size)} (${sizeParts(inspection)})`],
    ['Subject', inspection.subject?.digest],
  ];
  if (inspection.kind === 'image') fields.push(...configFields(inspection));
  fields.push(...mapField('Annotations', inspection.annotations));
  const sections = [formatFields(fields, style)];
  if (inspection.kind === 'image') sections.push(layersTable(inspection, style));
  else sections.push(platformsTable(inspection, style));
  return sections.join('\n\n');
}

function sizeParts(inspection: Inspection): string {
  if (inspection.kind === 'index') {
    const missing = inspection.manifests.filter((m) => m.missing).length;
    return `index and ${plural(inspection.manifests.length, 'manifest')}${missing ? `, ${missing} not in the registry` : ''}`;
  }
  return `manifest, config and ${plural(inspection.layers.length, 'layer')}`;
}

function configFields(image: ImageInspection): [string, string | undefined][] {
  const { config } = image;
  return [
    ['Created', config.created],
    ['Platform', formatPlatform(config)],
    ['Entrypoint', config.entrypoint && JSON.stringify(config.entrypoint)],
    ['Cmd', config.cmd && JSON.stringify(config.cmd)],
    ...mapField('Labels', config.labels),
  ];
}

/** One row per entry, the label only on the first, so long maps stay readable. */
function mapField(label: string, map: Record<string, string> | undefined): [string, string][] {
  return Object.entries(map ?? {}).map(([k, v], i) => [i === 0 ? label : '', `${k}=${v}`]);
}

function layersTable(image: ImageInspection, style: ChalkInstance): string {
  const title = style.bold(image.artifactType ? 'Blobs' : 'Layers');
  if (image.layers.length === 0) return `${title}\n(none)`;
  const rows = image.layers.map((l) => [l.digest, formatBytes(l.size), l.mediaType]);
  return `${title}\n${formatTable(['DIGEST', 'SIZE', 'MEDIA TYPE'], rows, style)}`;
}

function platformsTable(index: IndexInspection, style: ChalkInstance): string {
  const title = style.bold('Manifests');
  if (index.manifests.length === 0) return `${title}\n(none)`;
  const rows = index.manifests.map((m) => [formatPlatform(m.platform) ?? m.artifactType ?? '-', m.digest, m.missing ? 'not in the registry' : formatBytes(m.size)]);
  return `${title}\n${formatTable(['PLATFORM', 'DIGEST', 'SIZE'], rows, style)}`;
}

/** Label and value columns; fields without a value are left out. */
function formatFields(fields: [string, string | undefined][], style: ChalkInstance): string {
  const present = fields.filter((f): f is [string, string] => f[1] !== undefined && f[1] !== '');
  const width = Math.max(...present.map(([label]) => label.length));
  return present.map(([label, value]) => `${style.dim(label.padEnd(width))}  ${value}`).join('\n');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
