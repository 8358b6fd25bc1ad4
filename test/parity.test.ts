// Every served model answers its committed parity vectors (written by the PyTorch/numpy side of training/)
// through the Open Inference Protocol: the ONNX graph in onnxruntime-node computes what training computed.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { MODELS_DIR, startApp, stopApp } from './helpers/app.js';
import { maxAbsDifference, readParity } from './helpers/parity.js';

const manifest = JSON.parse(readFileSync(`${MODELS_DIR}manifest.json`, 'utf8')) as {
  models: Array<{ name: string; version: string; language_model?: unknown }>;
};
// Language models have step-by-step parity vectors of their own (lm-parity.test.ts).
const oneShotModels = manifest.models.filter((model) => model.language_model === undefined);

describe('parity of every served model with training', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await startApp();
  });
  after(() => stopApp(app));

  for (const { name, version } of oneShotModels) {
    it(`${name}@${version} matches its parity vectors`, async () => {
      assert.ok(existsSync(`${MODELS_DIR}${name}/parity.json`), `models/${name}/parity.json is committed`);
      const parity = readParity(name);
      const response = await app.inject({
        method: 'POST',
        url: `/v2/models/${name}/versions/${version}/infer`,
        payload: {
          inputs: Object.entries(parity.inputs).map(([input, tensor]) => ({ name: input, ...tensor })),
          outputs: Object.keys(parity.outputs).map((output) => ({ name: output })),
        },
      });
      assert.equal(response.statusCode, 200, response.body);
      for (const output of response.json().outputs as Array<{
        name: string;
        shape: number[];
        data: number[];
      }>) {
        const expected = parity.outputs[output.name];
        assert.ok(expected);
        assert.deepEqual(output.shape, expected.shape, output.name);
        const difference = maxAbsDifference(output.data, expected.data);
        assert.ok(
          difference <= parity.tolerance,
          `${name}/${output.name}: max |Δ| ${difference} > ${parity.tolerance}`,
        );
      }
    });
  }
});
