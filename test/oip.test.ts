// Open Inference Protocol v2 on the real test models: metadata, readiness, inference checked against the
// numpy parity vectors, output selection, id echo, and every tensor mistake a 400 naming the input.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { assertLive, startApp, stopApp } from './helpers/app.js';
import { maxAbsDifference, readParity } from './helpers/parity.js';

interface OutputTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: number[];
}

describe('Open Inference Protocol v2', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await startApp();
  });
  after(() => stopApp(app));

  const infer = (url: string, payload: unknown) =>
    app.inject({ method: 'POST', url, payload: payload as object });

  it('serves server metadata, liveness and readiness', async () => {
    assert.equal((await app.inject('/v2')).json().name, 'meanserve');
    assert.deepEqual((await app.inject('/v2/health/live')).json(), { live: true });
    assert.deepEqual((await app.inject('/v2/health/ready')).json(), { ready: true });
  });

  it('serves model metadata and model readiness, with and without a version', async () => {
    const metadata = (await app.inject('/v2/models/spiral-mlp')).json();
    assert.equal(metadata.platform, 'onnxruntime_onnx');
    assert.deepEqual(metadata.versions, ['1']);
    assert.deepEqual(metadata.inputs, [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }]);
    assert.deepEqual((await app.inject('/v2/models/spiral-mlp/versions/1')).json(), metadata);
    assert.deepEqual((await app.inject('/v2/models/iterated-map/ready')).json(), {
      name: 'iterated-map',
      ready: true,
    });
    assert.equal((await app.inject('/v2/models/iterated-map/versions/1/ready')).statusCode, 200);
  });

  it('answers 404 for an unknown model or version, with the OIP error member', async () => {
    for (const url of ['/v2/models/nope', '/v2/models/spiral-mlp/versions/9', '/v2/models/nope/ready']) {
      const response = await app.inject(url);
      assert.equal(response.statusCode, 404, url);
      assert.equal(response.json().error, response.json().detail);
    }
    const inferUnknown = await infer('/v2/models/nope/infer', {
      inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }],
    });
    assert.equal(inferUnknown.statusCode, 404);
    await assertLive(app);
  });

  it('computes what numpy computed (spiral-mlp, nested data, every output)', async () => {
    const parity = readParity('spiral-mlp');
    const x = parity.inputs.x;
    assert.ok(x);
    const rows = Array.from({ length: x.shape[0] as number }, (_, i) => x.data.slice(i * 2, i * 2 + 2));
    const response = await infer('/v2/models/spiral-mlp/infer', {
      id: 'parity-1',
      inputs: [{ name: 'x', shape: x.shape, datatype: 'FP32', data: rows }],
    });
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.equal(body.id, 'parity-1');
    assert.equal(body.model_name, 'spiral-mlp');
    assert.equal(body.model_version, '1');
    for (const output of body.outputs as OutputTensor[]) {
      const expected = parity.outputs[output.name];
      assert.ok(expected, output.name);
      assert.equal(output.datatype, expected.datatype);
      assert.deepEqual(output.shape, expected.shape);
      assert.ok(maxAbsDifference(output.data, expected.data) <= parity.tolerance, output.name);
    }
  });

  it('computes what numpy computed (iterated-map, an INT64 input, versioned route)', async () => {
    const parity = readParity('iterated-map');
    const { x, steps } = parity.inputs;
    assert.ok(x && steps);
    const response = await infer('/v2/models/iterated-map/versions/1/infer', {
      inputs: [
        { name: 'x', shape: x.shape, datatype: 'FP32', data: x.data },
        { name: 'steps', shape: [1], datatype: 'INT64', data: steps.data },
      ],
    });
    assert.equal(response.statusCode, 200, response.body);
    const [y] = response.json().outputs as OutputTensor[];
    assert.ok(y && parity.outputs.y);
    assert.ok(maxAbsDifference(y.data, parity.outputs.y.data) <= parity.tolerance);
    assert.equal(response.json().id, undefined, 'no id in, no id out');
  });

  it('returns only the requested outputs, in the requested order', async () => {
    const response = await infer('/v2/models/spiral-mlp/infer', {
      inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [0.1, 0.2] }],
      outputs: [{ name: 'label' }, { name: 'logits' }],
    });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(
      response.json().outputs.map((o: OutputTensor) => [o.name, o.datatype]),
      [
        ['label', 'INT64'],
        ['logits', 'FP32'],
      ],
    );
  });

  it('batches concurrent requests and still answers each with its own rows', async () => {
    const parity = readParity('spiral-mlp');
    const x = parity.inputs.x as { data: number[] };
    const labels = parity.outputs.label?.data as number[];
    const responses = await Promise.all(
      labels.map((_, i) =>
        infer('/v2/models/spiral-mlp/infer', {
          id: String(i),
          inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: x.data.slice(2 * i, 2 * i + 2) }],
          outputs: [{ name: 'label' }],
        }),
      ),
    );
    responses.forEach((response, i) => {
      assert.equal(response.statusCode, 200);
      assert.equal(response.json().id, String(i));
      assert.deepEqual(response.json().outputs[0].data, [labels[i]]);
    });
    const metrics = (await app.inject('/metrics')).body;
    const count = Number(
      /meanserve_inference_batch_size_count\{model="spiral-mlp",version="1"\} (\d+)/.exec(metrics)?.[1],
    );
    assert.ok(count >= 1 && count < labels.length, `16 concurrent requests ran in ${count} batches`);
  });

  const bad: Array<[string, unknown, string]> = [
    [
      'wrong datatype',
      { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP64', data: [1, 2] }] },
      '/body/inputs/0/datatype',
    ],
    [
      'unknown datatype',
      { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP8', data: [1, 2] }] },
      '/body/inputs/0/datatype',
    ],
    [
      'wrong rank',
      { inputs: [{ name: 'x', shape: [2], datatype: 'FP32', data: [1, 2] }] },
      '/body/inputs/0/shape',
    ],
    [
      'wrong fixed dimension',
      { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] },
      '/body/inputs/0/shape/1',
    ],
    [
      'element count',
      { inputs: [{ name: 'x', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3] }] },
      '/body/inputs/0/data',
    ],
    [
      'nested mismatch',
      { inputs: [{ name: 'x', shape: [2, 2], datatype: 'FP32', data: [[1, 2], [3]] }] },
      '/body/inputs/0/data/1',
    ],
    [
      'string element',
      { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 'a'] }] },
      '/body/inputs/0/data/1',
    ],
    [
      'batch over max',
      { inputs: [{ name: 'x', shape: [65, 2], datatype: 'FP32', data: new Array(130).fill(0) }] },
      '/body/inputs/0/shape/0',
    ],
    [
      'empty batch',
      { inputs: [{ name: 'x', shape: [0, 2], datatype: 'FP32', data: [] }] },
      '/body/inputs/0/shape/0',
    ],
    [
      'unknown input',
      {
        inputs: [
          { name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] },
          { name: 'z', shape: [1], datatype: 'FP32', data: [1] },
        ],
      },
      '/body/inputs/1/name',
    ],
    [
      'duplicate input',
      {
        inputs: [
          { name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] },
          { name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] },
        ],
      },
      '/body/inputs/1/name',
    ],
    [
      'unknown output',
      { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] }], outputs: [{ name: 'nope' }] },
      '/body/outputs/0/name',
    ],
    [
      'negative dimension',
      { inputs: [{ name: 'x', shape: [-1, 2], datatype: 'FP32', data: [1, 2] }] },
      '/body/inputs/0/shape/0',
    ],
    [
      'overflowing shape',
      { inputs: [{ name: 'x', shape: [16, 2 ** 60], datatype: 'FP32', data: [] }] },
      '/body/inputs/0/shape/1',
    ],
    [
      'unknown field',
      { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2], dtype: 'x' }] },
      '/body/inputs/0/dtype',
    ],
    ['no inputs', { inputs: [] }, '/body/inputs'],
  ];
  for (const [name, body, path] of bad) {
    it(`answers 400 naming the field for ${name}`, async () => {
      const response = await infer('/v2/models/spiral-mlp/infer', body);
      assert.equal(response.statusCode, 400, response.body);
      // KServe's error shape: application/json with `error`, the problem details beside it.
      assert.match(response.headers['content-type'] as string, /^application\/json/);
      assert.equal(typeof response.json().error, 'string');
      const paths = (response.json().errors as Array<{ path: string }>).map((e) => e.path);
      assert.ok(paths.includes(path), `${path} in ${JSON.stringify(paths)}`);
      await assertLive(app);
    });
  }

  it('refuses non-finite numbers (1e309 parses to Infinity) and out-of-range integers', async () => {
    const infinite = await app.inject({
      method: 'POST',
      url: '/v2/models/spiral-mlp/infer',
      headers: { 'content-type': 'application/json' },
      payload: '{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[1e309, 0]}]}',
    });
    assert.equal(infinite.statusCode, 400);
    assert.equal(infinite.json().errors[0].path, '/body/inputs/0/data/0');
    const steps = await infer('/v2/models/iterated-map/infer', {
      inputs: [
        { name: 'x', shape: [1, 8], datatype: 'FP32', data: new Array(8).fill(0) },
        { name: 'steps', shape: [1], datatype: 'INT64', data: [2 ** 60] },
      ],
    });
    assert.equal(steps.statusCode, 400);
    assert.equal(steps.json().errors[0].path, '/body/inputs/1/data/0');
    const tooLong = await infer('/v2/models/iterated-map/infer', {
      inputs: [
        { name: 'x', shape: [1, 8], datatype: 'FP32', data: new Array(8).fill(0) },
        { name: 'steps', shape: [1], datatype: 'INT64', data: [1_000_001] },
      ],
    });
    assert.equal(tooLong.statusCode, 400, 'the manifest caps steps');
    assert.match(tooLong.json().errors[0].message, /within \[0, 1000000\]/);
    const missing = await infer('/v2/models/iterated-map/infer', {
      inputs: [{ name: 'x', shape: [1, 8], datatype: 'FP32', data: new Array(8).fill(0) }],
    });
    assert.equal(missing.statusCode, 400);
    assert.match(missing.json().errors[0].message, /missing input 'steps'/);
    await assertLive(app);
  });
});
