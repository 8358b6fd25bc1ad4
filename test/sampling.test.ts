// The pieces of token generation on their own: logits processors, samplers, stop sequences, the
// vocabulary — and, with the real models, that the antidistillation path at λ = 0 samples exactly what
// plain sampling samples.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadConfig, modelAccess } from '../src/config.js';
import { InvalidInputError } from '../src/errors.js';
import { Random } from '../src/lib/random.js';
import { generateSequence, type SequenceRequest } from '../src/models/lm/generate.js';
import { vocabularyOf } from '../src/models/lm/language-models.js';
import {
  antidistillationTilt,
  lambdaAt,
  logitBias,
  logSoftmax,
  permuteWithSigns,
  repetitionPenalties,
  temperature,
  topP,
} from '../src/models/lm/logits-processors.js';
import { categorical, greedy } from '../src/models/lm/sampler.js';
import { StopSequenceText } from '../src/models/lm/stopping.js';
import { LocalModels } from '../src/models/local-models.js';
import { MODELS_DIR } from './helpers/app.js';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tolerance = 1e-12) =>
  Array.from(a).every((value, i) => Math.abs(value - (b[i] as number)) <= tolerance);

describe('logits processors', () => {
  it('log-softmax normalises', () => {
    const out = logSoftmax([1, 2, 3, 1000]);
    assert.ok(Math.abs(out.reduce((sum, v) => sum + Math.exp(v), 0) - 1) < 1e-12);
  });

  it('temperature divides the log-probabilities', () => {
    const scores = Float64Array.from([-1, -2, -4]);
    temperature(2)(scores, { teacher: new Float32Array(3) }, new Random(0), 0);
    assert.deepEqual([...scores], [-0.5, -1, -2]);
  });

  it('the tilt adds λ (z₊ − z₋) / 2ε', () => {
    const scores = Float64Array.from([0, 0, 0]);
    const logits = {
      teacher: new Float32Array(3),
      plus: Float32Array.from([1, 0.5, 0]),
      minus: Float32Array.from([0, 0.5, 1]),
    };
    antidistillationTilt(() => 2, 0.5, false)(scores, logits, new Random(0), 0);
    assert.deepEqual([...scores], [2, 0, -2]);
  });

  it('λ follows its schedule along the completion', () => {
    assert.equal(lambdaAt(0.3)(40), 0.3);
    const ramp = lambdaAt(0.2, { end: 1, tokens: 4 });
    assert.deepEqual([0, 1, 2, 4, 9].map(ramp), [0.2, 0.4, 0.6000000000000001, 1, 1]);
    const scores = Float64Array.from([0, 0]);
    const logits = {
      teacher: new Float32Array(2),
      plus: Float32Array.from([1, 0]),
      minus: new Float32Array(2),
    };
    antidistillationTilt(ramp, 0.5, false)(scores, logits, new Random(0), 2);
    assert.deepEqual([...scores], [0.6000000000000001, 0]);
  });

  it('the permutation control keeps the tilt magnitudes and moves them', () => {
    const values = Float64Array.from({ length: 20 }, (_, i) => i + 1);
    permuteWithSigns(values, new Random(3));
    assert.deepEqual(
      Array.from(values, Math.abs).sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    assert.notDeepEqual(
      Array.from(values, Math.abs),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    assert.ok(values.some((v) => v < 0));
  });

  it('logit bias adds each listed token’s bias and leaves the others', () => {
    const scores = Float64Array.from([-1, -2, -3, Number.NEGATIVE_INFINITY]);
    logitBias(
      new Map([
        [1, 100],
        [2, -100],
        [3, 50],
      ]),
    )(scores, { teacher: new Float32Array(4) }, new Random(0), 0);
    assert.deepEqual([...scores], [-1, 98, -103, Number.NEGATIVE_INFINITY]);
  });

  it('repetition penalties subtract count × α_f + α_p from tokens sampled before, and nothing else', () => {
    const counts = Uint32Array.from([0, 1, 3]);
    const scores = Float64Array.from([-1, -1, -1]);
    repetitionPenalties(0.5, 0.25, counts)(scores, { teacher: new Float32Array(3) }, new Random(0), 0);
    assert.deepEqual([...scores], [-1, -1.75, -2.75]);
    const favoured = Float64Array.from([-1, -1, -1]);
    repetitionPenalties(-1, 0, counts)(favoured, { teacher: new Float32Array(3) }, new Random(0), 0);
    assert.deepEqual([...favoured], [-1, 0, 2]);
  });

  it('top-p keeps the smallest most likely set reaching p', () => {
    const probabilities = [0.5, 0.3, 0.15, 0.05];
    const scores = Float64Array.from(probabilities, Math.log);
    topP(0.75)(scores, { teacher: new Float32Array(4) }, new Random(0), 0);
    assert.deepEqual(Array.from(scores, Number.isFinite), [true, true, false, false]);
    const all = Float64Array.from(probabilities, Math.log);
    topP(1)(all, { teacher: new Float32Array(4) }, new Random(0), 0);
    assert.ok(all.every(Number.isFinite));
  });
});

describe('samplers', () => {
  it('greedy takes the argmax, the lowest id on ties', () => {
    assert.equal(greedy(Float64Array.from([0, 3, 3, 1]), new Random(0)), 1);
  });

  it('categorical draws with the distribution’s frequencies and never a −∞ token', () => {
    const random = new Random(42);
    const scores = Float64Array.from([Math.log(0.2), Math.log(0.8), Number.NEGATIVE_INFINITY]);
    const counts = [0, 0, 0];
    const draws = 20_000;
    for (let i = 0; i < draws; i++) {
      const token = categorical(scores, random);
      counts[token] = (counts[token] ?? 0) + 1;
    }
    // Binomial standard deviation at p = 0.2: sqrt(0.16 / 20 000) ≈ 0.0028; 5σ.
    assert.ok(Math.abs((counts[0] as number) / draws - 0.2) < 0.014, `${counts}`);
    assert.equal(counts[2], 0);
  });
});

describe('stop sequences', () => {
  it('holds back a possible prefix and cuts at the stop', () => {
    const text = new StopSequenceText(['A:9']);
    assert.deepEqual(text.push('1'), { emit: '1', stopped: false });
    assert.deepEqual(text.push('A'), { emit: '', stopped: false });
    assert.deepEqual(text.push(':'), { emit: '', stopped: false });
    assert.deepEqual(text.push('5'), { emit: 'A:5', stopped: false });
    assert.deepEqual(text.push('A'), { emit: '', stopped: false });
    assert.deepEqual(text.push(':'), { emit: '', stopped: false });
    assert.deepEqual(text.push('9'), { emit: '', stopped: true });
    assert.equal(text.value, '1A:5');
  });

  it('flushes what it held back when generation ends', () => {
    const text = new StopSequenceText(['||']);
    text.push('7');
    text.push('|');
    assert.equal(text.flush(), '|');
    assert.equal(text.value, '7|');
  });
});

describe('vocabulary', () => {
  const spec = { vocabulary: 'arithmetic-task/spec.json', cache: { layers: 1, heads: 1, head_dim: 1 } };
  const vocabulary = vocabularyOf(MODELS_DIR, spec);

  it('encodes characters and refuses others naming the field', () => {
    assert.deepEqual(vocabulary.encode('Q:1+2=', '/p'), [19, 18, 4, 13, 5, 15]);
    assert.throws(
      () => vocabulary.encode('Q:1-2=', '/body/prompt'),
      (error: InvalidInputError) => error.errors[0]?.path === '/body/prompt',
    );
    assert.throws(() => vocabulary.encode('<eos>', '/p'), InvalidInputError);
  });
});

describe('antidistillation at λ = 0', () => {
  const local = new LocalModels(modelAccess(loadConfig({ MODELS_DIR })));
  after(() => local.close());

  it('runs the proxy pair and samples exactly what plain sampling samples', async () => {
    const lookup = await local.lookup();
    const teacher = lookup('arithmetic-teacher');
    const vocabulary = vocabularyOf(MODELS_DIR, teacher.language_model ?? spec());
    const request = (antidistillation: boolean): SequenceRequest => ({
      promptIds: [vocabulary.bos, ...vocabulary.encode('Q:31415*9=', '/p')],
      maxTokens: 60,
      sampling: {
        temperature: 1.3,
        topP: 0.95,
        ...(antidistillation ? { antidistillation: { lambda: 0, epsilon: 0.01, permute: false } } : {}),
      },
      stop: [],
      logprobs: 3,
      seed: 99,
    });
    const signal = new AbortController().signal;
    for (let seed = 0; seed < 5; seed++) {
      const plain = await generateSequence(
        vocabulary,
        { teacher: await local.decoder(teacher) },
        { ...request(false), seed },
        () => {},
        signal,
      );
      let proxySteps = 0;
      const counted = async (name: string) => {
        const decoder = await local.decoder(lookup(name));
        return {
          step: (ids: readonly number[]) => {
            proxySteps++;
            return decoder.step(ids);
          },
          close: () => decoder.close(),
        };
      };
      const tilted = await generateSequence(
        vocabulary,
        {
          teacher: await local.decoder(teacher),
          plus: await counted('arithmetic-proxy-plus'),
          minus: await counted('arithmetic-proxy-minus'),
        },
        { ...request(true), seed },
        () => {},
        signal,
      );
      assert.equal(tilted.text, plain.text);
      assert.ok(close(tilted.logprobs?.token_logprobs ?? [], plain.logprobs?.token_logprobs ?? []));
      assert.equal(proxySteps, 2 * tilted.completionTokens, 'both proxies stepped once per token');
    }
  });
});

function spec() {
  return { vocabulary: 'arithmetic-task/spec.json', cache: { layers: 1, heads: 1, head_dim: 1 } };
}
