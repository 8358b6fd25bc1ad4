// Continuous batching: the running sequences of a language model step together, and a sequence decodes
// the same bits whatever shares its batch — alone, among sequences that join (prefill) and leave while it
// runs, at any slot after the others move. Through the decoder threads and through POST /v1/completions.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Decoder } from '../src/models/lm/decoder.js';
import { vocabularyOf } from '../src/models/lm/language-models.js';
import type { Vocabulary } from '../src/models/lm/vocabulary.js';
import { DEFAULT_DECODERS, MODELS_DIR, startApp, stopApp } from './helpers/app.js';
import { greedyDecode } from './helpers/generation.js';

const TEACHER = 'arithmetic-teacher@1';

/** Every step's logits of greedy decoding, as raw bytes. */
const decode = async (decoder: Decoder, prompt: number[], tokens: number) =>
  (await greedyDecode(decoder, prompt, tokens)).logits;

describe('continuous batching', () => {
  let app: Awaited<ReturnType<typeof startApp>>;
  let vocabulary: Vocabulary;
  const promptOf = (text: string) => [vocabulary.bos, ...vocabulary.encode(text, '/prompt')];

  before(async () => {
    app = await startApp(DEFAULT_DECODERS);
    vocabulary = vocabularyOf(MODELS_DIR, { vocabulary: 'arithmetic-task/spec.json' });
  });
  after(() => stopApp(app));

  const open = () => {
    const teacher = app.models.list().find((model) => model.key === TEACHER);
    assert.ok(teacher !== undefined);
    return app.models.openDecoders([teacher.entry])[0] as Decoder;
  };

  it('gives a sequence the same logits, bit for bit, alone and in any batch', async () => {
    const prompt = promptOf('Q:4817+2956=');
    const alone = await decode(open(), prompt, 30);

    // 23 others with prompts of other lengths: 8 start first and stop early (the watched sequence moves
    // into a freed slot), 15 join while it runs, each decoding a different number of tokens.
    const stepsBefore = app.models.decoderSteps();
    const others: Array<Promise<Buffer[]>> = [];
    for (let i = 0; i < 8; i++) others.push(decode(open(), promptOf(`Q:${i + 3}*7=`), 3 + i));
    const watched = decode(open(), prompt, 30);
    for (let i = 0; i < 15; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      others.push(decode(open(), promptOf(`Q:${90_719 - 97 * i}+${i}=`), 5 + 3 * i));
    }
    const crowded = await watched;
    const tokens = (await Promise.all(others)).reduce((sum, one) => sum + one.length, 30);
    assert.deepEqual(crowded, alone);
    // They were batched: far fewer forward passes than tokens.
    const passes = app.models.decoderSteps() - stepsBefore;
    assert.ok(passes < tokens / 3, `${passes} forward passes for ${tokens} tokens`);
  });

  it('answers a seeded completion identically alone and among 31 concurrent ones', async () => {
    const body = (prompt: string, seed: number) => ({
      prompt,
      max_tokens: 40,
      temperature: 1,
      seed,
      logprobs: 2,
      antidistillation: { lambda: 0.05 },
    });
    const complete = async (prompt: string, seed: number) => {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/completions',
        payload: body(prompt, seed),
      });
      assert.equal(response.statusCode, 200, response.body);
      return response.json().choices;
    };
    const alone = await complete('Q:31415*9=', 11);
    const crowd = Array.from({ length: 31 }, (_, i) => complete(`Q:${1_000 + 37 * i}+${i * 11}=`, i));
    const together = await complete('Q:31415*9=', 11);
    await Promise.all(crowd);
    assert.deepEqual(together, alone);
  });

  it('serves 64 concurrent completions with the default settings, none refused', async () => {
    const answers = await Promise.all(
      Array.from({ length: 64 }, (_, i) =>
        app.inject({
          method: 'POST',
          url: '/v1/completions',
          payload: { prompt: `Q:${i}+${i * 7}=`, max_tokens: 12, temperature: 1, seed: i },
        }),
      ),
    );
    assert.deepEqual(
      answers.map((answer) => answer.statusCode),
      answers.map(() => 200),
    );
  });

  it('refuses a step past the context for that sequence alone', async () => {
    const [long, other] = [open(), open()];
    const watched = decode(other, promptOf('Q:7+5='), 10);
    await assert.rejects(long.step(new Array(97).fill(vocabulary.bos)), /exceeds the 96-position context/);
    long.close();
    assert.equal((await watched).length, 10);
  });
});
