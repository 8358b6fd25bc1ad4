// The job routes over HTTP (inline backend): submit-time validation with field paths, 202 with links,
// idempotency, listing, cancellation, artifacts, and server-sent events over a real socket — including a
// client that goes away mid-stream.
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { assertLive, listen, MODELS_DIR, startApp, stopApp } from './helpers/app.js';
import { waitFor } from './helpers/wait.js';

const spiralRequest = (data: number[] = [0.3, -0.7]) => ({
  inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data }],
});
const slowRequest = (steps: number) => ({
  inputs: [
    { name: 'x', shape: [1, 8], datatype: 'FP32', data: new Array(8).fill(0.1) },
    { name: 'steps', shape: [1], datatype: 'INT64', data: [steps] },
  ],
});

describe('job routes', () => {
  let app: FastifyInstance;
  let base: string;
  let modelsDir: string;
  before(async () => {
    // A private copy of the models, so one test can break a file after the registry verified it.
    modelsDir = await mkdtemp(join(tmpdir(), 'meanserve-models-'));
    await cp(MODELS_DIR, modelsDir, { recursive: true });
    app = await startApp({ MODELS_DIR: modelsDir, JOB_BACKOFF_MS: '10' });
    base = await listen(app);
  });
  after(async () => {
    await stopApp(app);
    await rm(modelsDir, { recursive: true, force: true });
  });

  const submit = (body: unknown, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/v1/jobs', payload: body as object, headers });
  /** A job of six long iterated-map requests: it runs for a while and reports progress. */
  const submitSlowJob = () =>
    submit({
      type: 'onnx.batch-infer',
      params: { model: 'iterated-map', requests: Array.from({ length: 6 }, () => slowRequest(200_000)) },
    });
  const finished = (id: string) =>
    waitFor(`job ${id} to finish`, async () => {
      const job = (await app.inject(`/v1/jobs/${id}`)).json();
      return ['completed', 'failed', 'cancelled'].includes(job.state) ? job : undefined;
    });

  it('lists job types with their params schema', async () => {
    const { data } = (await app.inject('/v1/job-types')).json();
    const batch = data.find((t: { type: string }) => t.type === 'onnx.batch-infer');
    assert.ok(batch);
    assert.deepEqual(batch.params_schema.required, ['model', 'requests']);
  });

  it('accepts a job with 202, Location and links, and completes it with its artifact', async () => {
    const response = await submit({
      type: 'onnx.batch-infer',
      params: { model: 'spiral-mlp', requests: [spiralRequest()] },
    });
    assert.equal(response.statusCode, 202);
    const job = response.json();
    assert.equal(response.headers.location, `/v1/jobs/${job.id}`);
    assert.equal(job.links.events, `/v1/jobs/${job.id}/events`);
    assert.ok(Number.isInteger(job.seed), 'a seed is generated and returned');
    const done = await finished(job.id);
    assert.equal(done.state, 'completed');
    assert.deepEqual(done.links.artifacts, [`/v1/jobs/${job.id}/artifacts/responses.json`]);
    const artifact = await app.inject(done.links.artifacts[0]);
    assert.equal(artifact.statusCode, 200);
    assert.match(artifact.headers['content-type'] as string, /^application\/json/);
    assert.equal(artifact.json()[0].model_name, 'spiral-mlp');
    assert.equal((await app.inject(`/v1/jobs/${job.id}/artifacts/nope.json`)).statusCode, 404);
    const listed = (await app.inject('/v1/jobs?type=onnx.batch-infer&state=completed&limit=5')).json();
    assert.ok(listed.data.some((j: { id: string }) => j.id === job.id));
  });

  it('shows params over 64 KiB by their size and a link, in every record; the link serves them', async () => {
    const requests = Array.from({ length: 1500 }, () => spiralRequest());
    const response = await submit({ type: 'onnx.batch-infer', params: { model: 'spiral-mlp', requests } });
    assert.equal(response.statusCode, 202);
    const accepted = response.json();
    assert.equal('params' in accepted, false);
    assert.ok(accepted.paramsBytes > 64 * 1024);
    assert.equal(accepted.links.params, `/v1/jobs/${accepted.id}/params`);
    const listed = (await app.inject('/v1/jobs?type=onnx.batch-infer&limit=50')).json();
    const item = listed.data.find((job: { id: string }) => job.id === accepted.id);
    assert.equal('params' in item, false);
    assert.equal(item.paramsBytes, accepted.paramsBytes);
    const record = (await app.inject(`/v1/jobs/${accepted.id}`)).json();
    assert.equal('params' in record, false);
    const params = await app.inject(accepted.links.params);
    assert.equal(params.statusCode, 200);
    assert.match(params.headers['content-type'] as string, /^application\/json/);
    assert.equal(params.body.length, accepted.paramsBytes);
    assert.equal(params.json().requests.length, 1500);
    assert.equal(params.json().model, 'spiral-mlp');
    // Small params stay in the record, and are served there too.
    const small = (
      await submit({ type: 'onnx.batch-infer', params: { model: 'spiral-mlp', requests: [spiralRequest()] } })
    ).json();
    assert.equal(small.params.requests.length, 1);
    assert.equal(small.links.params, undefined);
    assert.equal((await app.inject(`/v1/jobs/${small.id}/params`)).json().requests.length, 1);
    assert.equal(
      (await app.inject('/v1/jobs/onnx.batch-infer_00000000-0000-0000-0000-000000000000/params')).statusCode,
      404,
    );
    await finished(accepted.id);
    await finished(small.id);
  });

  it('validates params at submit time, naming the field inside params', async () => {
    const cases: Array<[unknown, number, string]> = [
      [{ type: 'onnx.batch-infer', params: { model: 'spiral-mlp' } }, 400, '/body/params/requests'],
      [
        { type: 'onnx.batch-infer', params: { model: 'spiral-mlp', requests: [], extra: 1 } },
        400,
        '/body/params/extra',
      ],
      [
        {
          type: 'onnx.batch-infer',
          params: {
            model: 'spiral-mlp',
            requests: [{ inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] }],
          },
        },
        400,
        '/body/params/requests/0/inputs/0/shape/1',
      ],
      [
        {
          type: 'onnx.batch-infer',
          params: { model: 'spiral-mlp', requests: [spiralRequest(), spiralRequest([1, 'x' as never])] },
        },
        400,
        '/body/params/requests/1/inputs/0/data/1',
      ],
    ];
    for (const [body, status, path] of cases) {
      const response = await submit(body);
      assert.equal(response.statusCode, status, response.body);
      const paths = (response.json().errors ?? []).map((e: { path: string }) => e.path);
      assert.ok(paths.includes(path), `${path} in ${JSON.stringify(paths)}`);
    }
    await assertLive(app);
  });

  it('answers 404 for an unknown job type, model, version or job', async () => {
    const type = await submit({ type: 'no.such-type', params: {} });
    assert.equal(type.statusCode, 404);
    assert.match(type.json().detail, /job type 'no.such-type'/);
    const model = await submit({
      type: 'onnx.batch-infer',
      params: { model: 'nope', requests: [spiralRequest()] },
    });
    assert.equal(model.statusCode, 404);
    const version = await submit({
      type: 'onnx.batch-infer',
      params: { model: 'spiral-mlp', version: '9', requests: [spiralRequest()] },
    });
    assert.equal(version.statusCode, 404);
    assert.equal((await app.inject('/v1/jobs/onnx.batch-infer_nope')).statusCode, 404);
    assert.equal(
      (await app.inject({ method: 'DELETE', url: '/v1/jobs/onnx.batch-infer_nope' })).statusCode,
      404,
    );
    assert.equal((await app.inject('/v1/jobs?type=no.such-type')).statusCode, 404);
    await assertLive(app);
  });

  it('returns the same job for a repeated Idempotency-Key and 409 for a different body', async () => {
    const body = { type: 'onnx.batch-infer', params: { model: 'spiral-mlp', requests: [spiralRequest()] } };
    const headers = { 'idempotency-key': `k-${Date.now()}` };
    const first = await submit(body, headers);
    const again = await submit({ params: body.params, type: body.type }, headers);
    assert.equal(again.statusCode, 202);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.json().id, first.json().id);
    const other = await submit({ ...body, seed: 5 }, headers);
    assert.equal(other.statusCode, 409);
    await finished(first.json().id);
  });

  it('answers 409 when cancelling a finished job', async () => {
    const { id } = (
      await submit({ type: 'onnx.batch-infer', params: { model: 'spiral-mlp', requests: [spiralRequest()] } })
    ).json();
    await finished(id);
    const response = await app.inject({ method: 'DELETE', url: `/v1/jobs/${id}` });
    assert.equal(response.statusCode, 409);
    assert.match(response.json().detail, /already completed/);
  });

  it('marks a job failed with the message when its processor throws, and stays up', async () => {
    // The registry verified the file at start; the job process reads it again and finds it changed.
    await writeFile(join(modelsDir, 'iterated-map/model.onnx'), Buffer.from('corrupted after start'));
    const { id } = (
      await submit({
        type: 'onnx.batch-infer',
        params: { model: 'iterated-map', requests: [slowRequest(1)] },
      })
    ).json();
    const done = await finished(id);
    assert.equal(done.state, 'failed');
    assert.match(done.error, /sha256 of iterated-map\/model.onnx is [0-9a-f]{64}, manifest says/);
    assert.equal(done.attempts, 1, 'a corrupted model is not retried');
    await cp(join(MODELS_DIR, 'iterated-map/model.onnx'), join(modelsDir, 'iterated-map/model.onnx'));
    await assertLive(app);
  });

  it('answers 204 to a reconnection that has seen the final event (Last-Event-ID), a stream otherwise', async () => {
    const { id } = (
      await submit({ type: 'onnx.batch-infer', params: { model: 'spiral-mlp', requests: [spiralRequest()] } })
    ).json();
    await finished(id);
    const first = await fetch(`${base}/v1/jobs/${id}/events`);
    const text = await first.text();
    assert.match(text, /^id: completed\nevent: completed$/m);
    const again = await fetch(`${base}/v1/jobs/${id}/events`, { headers: { 'last-event-id': 'completed' } });
    assert.equal(again.status, 204);
    const running = (await submitSlowJob()).json().id;
    const resumed = await fetch(`${base}/v1/jobs/${running}/events`, { headers: { 'last-event-id': 'x' } });
    assert.equal(resumed.status, 200);
    assert.match(await resumed.text(), /^event: snapshot$/m);
  });

  it("answers HEAD on a running job's event stream at once, with the head and no body", async () => {
    const { id } = (await submitSlowJob()).json();
    const head = await fetch(`${base}/v1/jobs/${id}/events`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.match(head.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(await head.text(), '');
    // Answered while the job still runs: a HEAD that followed the job would have waited for its end.
    const { state } = (await app.inject({ url: `/v1/jobs/${id}` })).json();
    assert.ok(state === 'queued' || state === 'running', state);
    assert.equal((await finished(id)).state, 'completed');
  });

  it('streams snapshot, progress and the final state as server-sent events', async () => {
    const { id } = (await submitSlowJob()).json();
    const response = await fetch(`${base}/v1/jobs/${id}/events`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    const text = await response.text();
    const events = [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    assert.equal(events[0], 'snapshot');
    assert.ok(events.includes('progress'), events.join(','));
    assert.equal(events.at(-1), 'completed');
    const last = JSON.parse(
      text
        .trim()
        .split('\n')
        .at(-1)
        ?.replace(/^data: /, '') ?? '{}',
    );
    assert.equal(last.state, 'completed');
    assert.equal((await fetch(`${base}/v1/jobs/onnx.batch-infer_nope/events`)).status, 404);
  });

  it('frees a server-sent event stream whose client disconnects mid-stream, and stays up', async () => {
    const { id } = (
      await submit({
        type: 'onnx.batch-infer',
        params: { model: 'iterated-map', requests: Array.from({ length: 20 }, () => slowRequest(300_000)) },
      })
    ).json();
    const url = new URL(`${base}/v1/jobs/${id}/events`);
    const streams = async () =>
      Number(/^meanserve_sse_streams (\d+)/m.exec((await app.inject('/metrics')).body)?.[1] ?? Number.NaN);
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(url, (res) => {
        res.once('data', () => {
          // The snapshot arrived: the stream is open. Now vanish.
          req.destroy();
          resolve();
        });
      });
      req.on('error', (error) =>
        error.message.includes('aborted') || 'code' in error ? undefined : reject(error),
      );
      req.end();
    });
    await waitFor('the stream to be released', async () => (await streams()) === 0);
    await assertLive(app);
    const cancelled = await app.inject({ method: 'DELETE', url: `/v1/jobs/${id}` });
    assert.equal(cancelled.statusCode, 200);
    assert.equal((await finished(id)).state, 'cancelled');
  });
});
