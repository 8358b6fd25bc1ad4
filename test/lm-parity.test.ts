// Every served language model reproduces PyTorch's logits when decoding step by step: model.onnx through
// POST /v2/models/{name}/infer as an OIP client drives it (the cache it returns fed back as `past`, and
// without it, the whole sequence each step), and the batched decoding graph decode.onnx through its cache
// slots, in this thread and through the decoder threads.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { loadConfig, modelAccess } from '../src/config.js';
import { LocalModels } from '../src/models/local-models.js';
import type { ManifestEntry } from '../src/schemas/manifest.js';
import { MODELS_DIR, startApp, stopApp } from './helpers/app.js';
import { maxAbsDifference } from './helpers/parity.js';

interface StepParity {
  tolerance: number;
  cases: Array<{ prompt: string; steps: Array<{ ids: number[]; logits: number[] }> }>;
}

const manifest = JSON.parse(readFileSync(`${MODELS_DIR}manifest.json`, 'utf8')) as {
  models: ManifestEntry[];
};
const languageModels = manifest.models.filter((entry) => entry.language_model !== undefined);
const parityOf = (name: string) =>
  JSON.parse(readFileSync(`${MODELS_DIR}${name}/parity.json`, 'utf8')) as StepParity;

type Step = (ids: number[]) => Promise<ArrayLike<number>>;

interface OipTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: number[];
}

/**
 * A sequence decoded through the OIP route: each step sends the new ids (or, without the cache, every id
 * so far) and the `present` of the step before as `past`, and reads the last position's logits.
 */
function oipDecoder(app: Awaited<ReturnType<typeof startApp>>, entry: ManifestEntry, useCache: boolean) {
  const cache = entry.language_model?.cache;
  assert.ok(cache !== undefined);
  const empty = { shape: [cache.layers, 2, 1, cache.heads, 0, cache.head_dim], data: [] as number[] };
  let past = empty;
  const history: number[] = [];
  return {
    step: async (ids: number[]) => {
      history.push(...ids);
      const fed = useCache ? ids : history;
      const response = await app.inject({
        method: 'POST',
        url: `/v2/models/${entry.name}/infer`,
        payload: {
          inputs: [
            { name: 'input_ids', datatype: 'INT64', shape: [1, fed.length], data: fed },
            { name: 'past', datatype: 'FP32', ...(useCache ? past : empty) },
          ],
        },
      });
      assert.equal(response.statusCode, 200, response.body);
      const outputs = response.json().outputs as OipTensor[];
      const present = outputs.find((output) => output.name === 'present') as OipTensor;
      const logits = outputs.find((output) => output.name === 'logits') as OipTensor;
      past = { shape: present.shape, data: present.data };
      const vocabulary = logits.shape[2] as number;
      return logits.data.slice((fed.length - 1) * vocabulary, fed.length * vocabulary);
    },
    close: () => undefined,
  };
}

async function worstDifference(parity: StepParity, open: () => Promise<{ step: Step; close: () => void }>) {
  let worst = 0;
  for (const testCase of parity.cases) {
    const decoder = await open();
    for (const step of testCase.steps) {
      worst = Math.max(worst, maxAbsDifference(Array.from(await decoder.step(step.ids)), step.logits));
    }
    decoder.close();
  }
  return worst;
}

describe('language-model parity with training', () => {
  const local = new LocalModels(modelAccess(loadConfig({ MODELS_DIR })));
  let app: Awaited<ReturnType<typeof startApp>>;
  before(async () => {
    app = await startApp();
  });
  after(async () => {
    await local.close();
    await stopApp(app);
  });

  it('serves the teacher and its proxy pair', () => {
    assert.deepEqual(languageModels.map((entry) => entry.name).sort(), [
      'arithmetic-proxy-minus',
      'arithmetic-proxy-plus',
      'arithmetic-teacher',
    ]);
  });

  it('refuses token ids outside the vocabulary over OIP (Gather read -5 as token 15), naming the value', async () => {
    for (const entry of languageModels) {
      // An empty cache of one sequence: the past's dynamic dimensions are the batch (1) and the positions (0).
      const pastSpec = entry.inputs.find((input) => input.name === 'past');
      const pastShape = (pastSpec?.shape ?? []).map((dim, at) => (dim === -1 ? (at === 2 ? 1 : 0) : dim));
      const infer = (id: number) =>
        app.inject({
          method: 'POST',
          url: `/v2/models/${entry.name}/infer`,
          payload: {
            inputs: [
              { name: 'input_ids', datatype: 'INT64', shape: [1, 1], data: [id] },
              { name: 'past', datatype: 'FP32', shape: pastShape, data: [] },
            ],
          },
        });
      const vocabulary = (await infer(0)).json().outputs.find((o: OipTensor) => o.name === 'logits').shape[2];
      assert.equal((await infer(vocabulary - 1)).statusCode, 200, entry.name);
      for (const id of [-5, vocabulary]) {
        const refused = await infer(id);
        assert.equal(refused.statusCode, 400, `${entry.name} ${id}: ${refused.body.slice(0, 200)}`);
        assert.equal(refused.json().errors[0].path, '/body/inputs/0/data/0');
      }
    }
  });

  for (const entry of languageModels) {
    for (const useCache of [true, false]) {
      it(`${entry.name} step by step through OIP ${useCache ? 'with' : 'without'} the cache`, async () => {
        const parity = parityOf(entry.name);
        const worst = await worstDifference(parity, async () => oipDecoder(app, entry, useCache));
        assert.ok(worst <= parity.tolerance, `max |Δlogit| ${worst} > ${parity.tolerance}`);
      });
    }
    it(`${entry.name} step by step through the batched decoding graph`, async () => {
      const parity = parityOf(entry.name);
      const worst = await worstDifference(parity, () => local.decoder(entry));
      assert.ok(worst <= parity.tolerance, `max |Δlogit| ${worst} > ${parity.tolerance}`);
    });
  }

  describe('through the decoder threads', () => {
    it('matches on every model, three sequences at once on different threads', async () => {
      const parities = languageModels.map((entry) => parityOf(entry.name));
      const decoders = app.models.openDecoders(languageModels);
      for (let c = 0; c < (parities[0]?.cases.length ?? 0); c++) {
        const opened = c === 0 ? decoders : app.models.openDecoders(languageModels);
        const steps = parities[0]?.cases[c]?.steps.length ?? 0;
        for (let s = 0; s < steps; s++) {
          const logits = await Promise.all(
            opened.map((decoder, m) => decoder.step(parities[m]?.cases[c]?.steps[s]?.ids ?? [])),
          );
          logits.forEach((values, m) => {
            const expected = parities[m]?.cases[c]?.steps[s]?.logits ?? [];
            assert.ok(maxAbsDifference(Array.from(values), expected) <= (parities[m]?.tolerance ?? 0));
          });
        }
        for (const decoder of opened) decoder.close();
      }
    });
  });
});
