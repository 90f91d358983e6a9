import type { Counter, Histogram } from 'prom-client';
import type { RequestObserver } from '../server/app.js';

export interface RequestMetrics {
  requests: Counter<'route' | 'method' | 'status'>;
  durations: Histogram<'route' | 'method'>;
  bytesIn: Counter<'route'>;
  bytesOut: Counter<'route'>;
  uploads: Histogram;
}

/** Methods the API knows; anything else is one label value, so junk requests cannot grow the series. */
const METHODS = new Set(['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE', 'OPTIONS']);

/** Uploads started and not yet finished, remembered at most; beyond it the oldest are forgotten. */
const OPEN_UPLOADS = 10_000;

/**
 * Counts every finished request, and times blob uploads from the POST that starts them to the PUT
 * that completes them (the upload id links the two), so a chunked push is measured whole.
 */
export function observeRequests(m: RequestMetrics, now: () => number = () => performance.now()): RequestObserver {
  const started = new Map<string, number>();
  return (done) => {
    const method = METHODS.has(done.request.method) ? done.request.method : 'other';
    const { route } = done;
    m.requests.inc({ route, method, status: String(done.status) });
    m.durations.observe({ route, method }, done.durationMs / 1000);
    if (done.bytesIn > 0) m.bytesIn.inc({ route }, done.bytesIn);
    if (done.bytesOut > 0) m.bytesOut.inc({ route }, done.bytesOut);

    if (route === 'upload-start' && method === 'POST') {
      const id = done.responseHeaders['docker-upload-uuid'];
      if (done.status === 202 && typeof id === 'string') {
        started.set(id, now() - done.durationMs);
        if (started.size > OPEN_UPLOADS) started.delete(started.keys().next().value!);
      }
      // A monolithic upload is complete in its one request; a mount uploads nothing.
      if (done.status === 201 && !new URLSearchParams(done.query).has('mount')) m.uploads.observe(done.durationMs / 1000);
    } else if (route === 'upload' && (method === 'PUT' || method === 'DELETE')) {
      const since = started.get(done.param);
      if (since === undefined) return;
      if (method === 'PUT' && done.status === 201) m.uploads.observe((now() - since) / 1000);
      // A failed PUT leaves the upload open for a retry; a cancel (or a finish) ends it.
      if (method === 'DELETE' || done.status === 201) started.delete(done.param);
    }
  };
}
