// The decoder pool holds each language model on every thread and puts a new sequence on the thread whose
// estimated step would be shortest with it. It survives a dead thread: the sequences that lived on it fail
// (their caches died with it), those on the other threads go on, the thread is replaced in its slot, and
// later sequences decode exactly as before the crash.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { decodeSpecOf } from '../src/models/lm/batched-decoder.js';
import type { Decoder } from '../src/models/lm/decoder.js';
import { DecoderPool } from '../src/models/lm/decoder-pool.js';
import { Vocabulary } from '../src/models/lm/vocabulary.js';
import { readManifest, readVerifiedDecoder } from '../src/models/manifest.js';
import { greedyDecode } from './helpers/generation.js';

const MODELS_DIR = new URL('../models/', import.meta.url).pathname;
const TEACHER = 'arithmetic-teacher';

/** Greedy continuation of `prompt` for `tokens` steps, as token ids. */
const greedy = async (decoder: Decoder, prompt: number[], tokens: number) =>
  (await greedyDecode(decoder, prompt, tokens)).ids;

describe('decoder pool', () => {
  const pool = new DecoderPool(2);
  let prompt: number[];
  let vocabulary: Vocabulary;

  before(async () => {
    const entry = (await readManifest(MODELS_DIR)).find((model) => model.name === TEACHER);
    assert.ok(entry?.language_model !== undefined);
    vocabulary = Vocabulary.read(`${MODELS_DIR}${entry.language_model.vocabulary}`);
    prompt = [vocabulary.bos, ...vocabulary.encode('Q:7+5=', '/prompt')];
    const failures = await pool.start([
      {
        key: TEACHER,
        model: await readVerifiedDecoder(MODELS_DIR, entry),
        providers: ['cpu'],
        spec: decodeSpecOf(entry.language_model),
      },
    ]);
    assert.equal(failures.size, 0);
  });
  after(() => pool.close());

  it('spreads sequences over the threads and replaces one that dies: only its sequences fail', async () => {
    const expected = await greedy(pool.open([TEACHER])[0] as Decoder, prompt, 14);
    assert.equal(expected.map((id) => vocabulary.text(id)).join(''), '7+5+0=12|A:12');

    // On an idle pool the first sequence takes thread 0; the second's step would be shorter alone on
    // thread 1 (a pass's fixed cost and one row) than beside the first on thread 0 (the same and two rows).
    const [onFirst, onSecond] = [pool.open([TEACHER])[0], pool.open([TEACHER])[0]] as [Decoder, Decoder];
    await Promise.all([onFirst.step(prompt), onSecond.step(prompt)]);
    const threads = (pool as unknown as { threads: Array<{ worker: Worker }> }).threads;
    assert.equal(threads.length, 2);
    await threads[0]?.worker.terminate();
    await assert.rejects(onFirst.step([expected[0] as number]), /decoder thread exited/);
    assert.equal(pool.replacements, 1);
    // The sequence on thread 1 goes on as if nothing had happened.
    const rest = await greedy(onSecond, [expected[0] as number], 13);
    assert.deepEqual(rest, expected.slice(1));

    // New sequences, one after the other and two at once, decode the same text; the replacement loads
    // before it answers.
    const [decoder] = pool.open([TEACHER]) as [Decoder];
    assert.deepEqual(await greedy(decoder, prompt, 14), expected);
    const pair = pool.open([TEACHER, TEACHER]);
    assert.deepEqual(await Promise.all(pair.map((one) => greedy(one, prompt, 14))), [expected, expected]);
    assert.equal(pool.replacements, 1);
  });
});
