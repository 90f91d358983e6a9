import type { Readable } from 'node:stream';

/** One line of the engine's JSON progress stream (push, pull). */
export interface ProgressEvent {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
  aux?: { Tag?: string; Digest?: string; Size?: number };
}

export interface LayerProgress {
  id: string;
  status: string;
  current?: number;
  total?: number;
}

/** The engine's own failure, reported inside an HTTP 200 progress stream. */
export class ProgressStreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProgressStreamError';
  }
}

export interface ProgressOutcome {
  /** The manifest digest the engine reported (push: aux, pull: "Digest:" status). */
  digest?: string;
  /** Every layer's last status, in the order the engine first named them. */
  layers: LayerProgress[];
}

// Layer lines carry the short (12 hex) ID; other lines with an id name a tag ("Pulling from").
const LAYER_ID = /^[0-9a-f]{12}$/;
const DIGEST_STATUS = /^Digest: (sha256:[0-9a-f]{64})$/;

export function layerOf(event: ProgressEvent): LayerProgress | undefined {
  if (!event.id || !event.status || !LAYER_ID.test(event.id)) return undefined;
  const { current, total } = event.progressDetail ?? {};
  return { id: event.id, status: event.status, ...(current !== undefined && { current }), ...(total !== undefined && { total }) };
}

/**
 * Reads the stream to its end, handing every event to `onEvent`. An `error` event anywhere makes the
 * whole operation a failure, even though the HTTP request succeeded.
 */
export async function consumeProgress(stream: Readable, onEvent: (event: ProgressEvent) => void = () => {}): Promise<ProgressOutcome> {
  const layers = new Map<string, LayerProgress>();
  let digest: string | undefined;
  let failure: string | undefined;
  for await (const event of progressEvents(stream)) {
    onEvent(event);
    if (event.error !== undefined || event.errorDetail) failure ??= event.errorDetail?.message || event.error || 'unknown engine error';
    const layer = layerOf(event);
    if (layer) layers.set(layer.id, layer);
    digest = event.aux?.Digest ?? DIGEST_STATUS.exec(event.status ?? '')?.[1] ?? digest;
  }
  if (failure !== undefined) throw new ProgressStreamError(failure);
  return { digest, layers: [...layers.values()] };
}

/** Newline-delimited JSON; a line split across chunks is joined before parsing. */
export async function* progressEvents(stream: Readable): AsyncGenerator<ProgressEvent> {
  let pending = '';
  for await (const chunk of stream) {
    pending += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) yield* parseLine(line);
  }
  yield* parseLine(pending);
}

function* parseLine(line: string): Generator<ProgressEvent> {
  const text = line.trim();
  if (!text) return;
  try {
    yield JSON.parse(text) as ProgressEvent;
  } catch {
    throw new ProgressStreamError(`the engine sent a progress line that is not JSON: ${text.slice(0, 200)}`);
  }
}

/** Layers moved by a transfer, and those the other side already had. */
export interface LayerCounts {
  transferred: number;
  existing: number;
}

/** How many layers ended in each kind of state, for the result and the non-TTY summary. */
export function countLayers(layers: LayerProgress[]): LayerCounts {
  const existing = layers.filter((l) => l.status === 'Layer already exists' || l.status === 'Already exists' || l.status.startsWith('Mounted from')).length;
  return { transferred: layers.length - existing, existing };
}
