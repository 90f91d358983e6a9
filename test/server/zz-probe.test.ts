import { createHash } from 'node:crypto';
import { it } from 'vitest';
import { randomBlob, buildImage, uniqueRepo } from '../helpers/fixtures.js';
import { useRegistry, pushImage, startUpload, patchChunk } from '../helpers/http.js';

const ctx = useRegistry('filesystem');
it('probe', async () => {
  const show = (label: string, r: { status: number; headers: Record<string, string>; body: Buffer }) =>
    console.log(label, r.status, JSON.stringify({ ct: r.headers['content-type'], loc: r.headers.location, dcd: r.headers['docker-content-digest'], link: r.headers.link, range: r.headers.range, cr: r.headers['content-range'] }), r.body.toString().slice(0, 200));
  const repo = uniqueRepo('probe');
  const b = randomBlob(100);
  const d512 = `sha512:${createHash('sha512').update(b.data).digest('hex')}`;
  show('sha512 POST', await ctx.http.send('POST', `/v2/${repo}/blobs/uploads/?digest=${d512}`, { body: b.data }));
  show('sha512 GET', await ctx.http.get(`/v2/${repo}/blobs/${d512}`));
  show('GET /v2', await ctx.http.get('/v2'));
  const img = buildImage();
  await pushImage(ctx.http, repo, img, 'x');
  show('tags n=-1', await ctx.http.get(`/v2/${repo}/tags/list?n=-1`));
  show('tags n=abc', await ctx.http.get(`/v2/${repo}/tags/list?n=abc`));
  show('catalog n=abc', await ctx.http.get(`/v2/_catalog?n=abc`));
  show('manifest no CT', await ctx.http.send('PUT', `/v2/${repo}/manifests/noct`, { body: img.manifest.body }));
  show('manifest empty body', await ctx.http.send('PUT', `/v2/${repo}/manifests/empty`, { headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } }));
  show('manifest bad digest ref', await ctx.http.get(`/v2/${repo}/manifests/sha256:abc`));
  show('manifest GET accept docker only', await ctx.http.get(`/v2/${repo}/manifests/x`, { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } }));
  show('HEAD blob range', await ctx.http.head(`/v2/${repo}/blobs/${b.digest}`, { headers: { range: 'bytes=0-9' } }));
  show('blob multi-range', await ctx.http.get(`/v2/${repo}/blobs/${b.digest}`, { headers: { range: 'bytes=0-1,5-6' } }));
  show('blob range 10-5', await ctx.http.get(`/v2/${repo}/blobs/${b.digest}`, { headers: { range: 'bytes=10-5' } }));
  const { location } = await startUpload(ctx.http, repo);
  show('PATCH empty', await patchChunk(ctx.http, location, Buffer.alloc(0)));
  show('PATCH CR bad', await ctx.http.send('PATCH', location, { headers: { 'content-range': 'abc' }, body: 'xx' }));
  show('concurrent patch', (await Promise.all([patchChunk(ctx.http, location, Buffer.alloc(1 << 20)), patchChunk(ctx.http, location, Buffer.alloc(1 << 20))]))[1]);
  show('POST method on manifests', await ctx.http.send('POST', `/v2/${repo}/manifests/x`));
  show('DELETE tags list', await ctx.http.send('DELETE', `/v2/${repo}/tags/list`));
  show('mount bad from', await ctx.http.send('POST', `/v2/${repo}/blobs/uploads/?mount=${b.digest}&from=BAD`));
  show('mount bad digest', await ctx.http.send('POST', `/v2/${repo}/blobs/uploads/?mount=sha256:zz&from=${repo}`));
  show('referrers tag-schema name', await ctx.http.get(`/v2/${repo}/referrers/${img.manifest.digest}?artifactType=`));
  show('OPTIONS', await ctx.http.send('OPTIONS', `/v2/`));
});
