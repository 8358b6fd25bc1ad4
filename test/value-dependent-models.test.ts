// Uploaded graphs whose run depends on the values of well-formed inputs (test/fixtures/value-dependent).
// A run onnxruntime refuses for the values it was given (a Gather index past its table, as a token id past
// an uploaded language model's vocabulary; a buffer too large to allocate; a negative dimension) is the
// client's 422 in the route's error shape, naming the node and why, never a 500; the requests micro-batched
// with it are answered as if it had not been there. A graph whose values make it run for seconds holds
// neither the event loop nor the shared inference threads (with small batches of the manifest's models run
// inline or not): uploads never run inline and each has an inference process of its own
// (uploaded-model-processes.test.ts). An output whose size follows an input's values is
// answered as JSON only up to JSON_MAX_ARRAY_LENGTH elements (413 past it), as binary tensor data beyond;
// an onnx.batch-infer job past it fails at once. NaN and ±Infinity outputs are written as Triton writes them.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { startApp, stopApp } from './helpers/app.js';
import { uploadModel } from './helpers/model-upload.js';
import { waitFor } from './helpers/wait.js';

const ADMIN = 'ops-0123456789abcdef0123456789abcdef';
const admin = { authorization: `Bearer ${ADMIN}` };
const fixture = (name: string) =>
  new URL(`./fixtures/value-dependent/${name}.onnx`, import.meta.url).pathname;
/** Elements a JSON array may hold here, in requests and in answers. */
const MAX_ELEMENTS = 100_000;

const lookup = (ids: number[]) => ({
  inputs: [{ name: 'id', shape: [ids.length, 1], datatype: 'INT64', data: ids }],
});

for (const [where, env] of [
  ['with small batches on the event loop', {}],
  ['with every batch in the threads', { INLINE_INFERENCE_MAX_US: '0' }],
] as const) {
  describe(`graphs that depend on their inputs' values, ${where}`, () => {
    let app: FastifyInstance;
    let repositoryDir: string;

    before(async () => {
      repositoryDir = await mkdtemp(join(tmpdir(), 'meanserve-value-dependent-'));
      // A 50 ms batching window: requests sent together share one batch.
      app = await startApp({
        ...env,
        ADMIN_API_KEYS: `ops:${ADMIN}`,
        MODEL_REPOSITORY_DIR: repositoryDir,
        BATCH_MAX_WAIT_MS: '50',
        JSON_MAX_ARRAY_LENGTH: String(MAX_ELEMENTS),
        // One shared inference thread: a request that held it would stall every model the pool serves.
        INFERENCE_THREADS: '1',
      });
      for (const name of ['lookup', 'fill', 'log', 'spin']) {
        const bytes = await readFile(fixture(name));
        const batched = name === 'fill' || name === 'log' ? {} : { max_batch_size: 8 };
        const upload = await uploadModel(app, name, '1', bytes, admin, batched);
        assert.equal(upload.statusCode, 201, upload.body);
        const load = await app.inject({
          method: 'POST',
          url: `/v2/repository/models/${name}/load`,
          headers: admin,
        });
        assert.equal(load.statusCode, 200, load.body);
      }
    });
    after(async () => {
      await stopApp(app);
      await rm(repositoryDir, { recursive: true, force: true });
    });

    const infer = (ids: number[]) =>
      app.inject({ method: 'POST', url: '/v2/models/lookup/infer', payload: lookup(ids) });

    it('answers 422 in KServe’s error shape, naming the node and why', async () => {
      const response = await infer([9]);
      assert.equal(response.statusCode, 422, response.body);
      const { error } = response.json();
      assert.match(error, /^the model cannot compute this input: the Gather node/);
      assert.match(error, /out of data bounds/);
      assert.doesNotMatch(error, /onnxruntime_src|::/, 'no C++ source or signature');
      assert.equal((await infer([2])).json().outputs[0].data.join(), '2,20', 'the model still serves');
    });

    it('answers the requests batched with it as if it had not been there', async () => {
      const before = await executions();
      const [good, bad, other] = await Promise.all([infer([1, 3]), infer([-9]), infer([0])]);
      assert.equal(bad.statusCode, 422, bad.body);
      assert.equal(good.statusCode, 200, good.body);
      assert.equal(good.json().outputs[0].data.join(), '1,10,3,30');
      assert.equal(other.json().outputs[0].data.join(), '0,0');
      const done = await executions();
      // One batch of the three (4 rows) that failed, then each of them alone (2 + 1 + 1 rows).
      assert.deepEqual([done.count - before.count, done.rows - before.rows], [4, 8]);
    });

    const fill = (rows: number, columns: number, parameters: Record<string, unknown> = {}) =>
      app.inject({
        method: 'POST',
        url: '/v2/models/fill/infer',
        payload: {
          inputs: [{ name: 'shape', shape: [2], datatype: 'INT64', data: [rows, columns] }],
          parameters,
        },
      });

    it('answers 422 for a buffer too large to allocate and for a negative dimension', async () => {
      const huge = await fill(1_000_000, 1_000_000);
      assert.equal(huge.statusCode, 422, huge.body);
      assert.match(
        huge.json().error,
        /ConstantOfShape node: failed to allocate memory for a buffer it needs/,
      );
      const negative = await fill(-1, 5);
      assert.equal(negative.statusCode, 422, negative.body);
      assert.match(negative.json().error, /must be >= 0/);
    });

    it('can still start child processes after that buffer (an upload is tried in one)', async () => {
      assert.equal((await fill(1_000_000, 1_000_000)).statusCode, 422);
      // With onnxruntime's memory arena, this next run reserved all of the machine's RAM, and the kernel
      // refused the server every fork from then on (ENOMEM).
      assert.equal((await fill(1, 1)).statusCode, 200);
      const upload = await uploadModel(
        app,
        'lookup-after-huge',
        '1',
        await readFile(fixture('lookup')),
        admin,
      );
      assert.equal(upload.statusCode, 201, upload.body);
    });

    it('answers an output of more than JSON_MAX_ARRAY_LENGTH elements 413 as JSON, and as binary tensor data', async () => {
      const fits = await fill(100, 1000);
      assert.equal(fits.statusCode, 200, fits.body.slice(0, 200));
      assert.equal(fits.json().outputs[0].data.length, MAX_ELEMENTS);
      const over = await fill(100, 1001);
      assert.equal(over.statusCode, 413, over.body);
      assert.match(over.json().error, /'filled' 100×1001/);
      assert.match(over.json().error, /binary_data_output/);
      const binary = await fill(100, 1001, { binary_data_output: true });
      assert.equal(binary.statusCode, 200, binary.body.slice(0, 200));
      const header = Number(binary.headers['inference-header-content-length']);
      assert.equal(binary.rawPayload.length - header, 100 * 1001 * 4, 'the tensor’s bytes after the header');
    });

    it('runs a graph whose values make it take seconds off the event loop and off the shared threads', async () => {
      const spun = (await executions('spin')).count;
      const order: string[] = [];
      /** `answer`, its name put in `order` when it comes. */
      const noted = <T>(name: string, answer: Promise<T>) =>
        answer.then((response) => {
          order.push(name);
          return response;
        });
      // 5 million Loop iterations: seconds of one core (0.7 µs each here).
      const spinning = noted(
        'spin',
        app.inject({
          method: 'POST',
          url: '/v2/models/spin/infer',
          payload: {
            inputs: [
              { name: 'x', shape: [1, 1], datatype: 'FP32', data: [1] },
              { name: 'steps', shape: [1, 1], datatype: 'INT64', data: [5_000_000] },
            ],
          },
        }),
      );
      await waitFor('the spin request to start running', async () => (await executions('spin')).count > spun);
      const live = noted('live', app.inject({ url: '/health/live' }));
      const spiral = noted(
        'spiral-mlp',
        app.inject({
          method: 'POST',
          url: '/v2/models/spiral-mlp/infer',
          payload: { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [0.3, -0.7] }] },
        }),
      );
      const [spin, liveness, shared] = await Promise.all([spinning, live, spiral]);
      assert.equal(liveness.statusCode, 200);
      assert.equal(shared.statusCode, 200, shared.body);
      assert.equal(spin.statusCode, 200, spin.body);
      assert.equal(spin.json().outputs[0].data[0], 5_000_001);
      assert.deepEqual(order.slice(-1), ['spin'], `liveness and the shared pool answered first: ${order}`);
    });

    it('writes NaN and ±Infinity outputs as Triton does, not as null', async () => {
      const response = await app.inject({
        method: 'POST',
        url: '/v2/models/log/infer',
        payload: { inputs: [{ name: 'x', shape: [2, 2], datatype: 'FP32', data: [-1, 0, 1, 4] }] },
      });
      assert.equal(response.statusCode, 200, response.body);
      // What JSON.stringify alone wrote: [null,null,0,1.3862943649291992].
      assert.match(response.body, /"data":\[NaN,-Infinity,0,1\.3862943649291992\]/);
      const binary = await app.inject({
        method: 'POST',
        url: '/v2/models/log/infer',
        payload: {
          inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [-1, 0] }],
          parameters: { binary_data_output: true },
        },
      });
      const header = Number(binary.headers['inference-header-content-length']);
      const values = new Float32Array(Uint8Array.from(binary.rawPayload.subarray(header)).buffer);
      assert.ok(Number.isNaN(values[0]) && values[1] === -Infinity, String(values));
    });

    it('fails an onnx.batch-infer job whose answer would hold more numbers than an answer may, at once', async () => {
      // 4 100 × 4 100 zeros: past the default JSON_MAX_ARRAY_LENGTH (16 777 216), which jobs keep.
      const submitted = await app.inject({
        method: 'POST',
        url: '/v1/jobs',
        payload: {
          type: 'onnx.batch-infer',
          params: {
            model: 'fill',
            requests: [{ inputs: [{ name: 'shape', shape: [2], datatype: 'INT64', data: [4100, 4100] }] }],
          },
        },
      });
      assert.equal(submitted.statusCode, 202, submitted.body);
      const job = await waitFor('the job to end', async () => {
        const read = (await app.inject({ url: `/v1/jobs/${submitted.json().id}` })).json();
        return read.state === 'failed' || read.state === 'completed' ? read : undefined;
      });
      assert.equal(job.state, 'failed', JSON.stringify(job));
      assert.equal(job.attempts, 1, `not retried: it would fail the same ${JSON.stringify(job)}`);
      assert.match(job.error, /request 0: the outputs hold 16810000 numbers as JSON \('filled' 4100×4100\)/);
    });

    /** Executions of a model and the rows they ran (meanserve_inference_batch_size). */
    const executions = async (model = 'lookup') => {
      const metrics = (await app.inject({ url: '/metrics' })).body;
      const read = (suffix: string) =>
        Number(
          new RegExp(`meanserve_inference_batch_size_${suffix}\\{[^}]*model="${model}"[^}]*\\} (\\d+)`).exec(
            metrics,
          )?.[1] ?? 0,
        );
      return { count: read('count'), rows: read('sum') };
    };
  });
}
