// The decoder pool survives a dead thread: the sequences that lived on it fail (their caches died with it),
// the thread is replaced in its slot, and later sequences of its model decode exactly as before the crash.
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

  it('replaces a thread that dies: its sequences fail, new ones decode as before', async () => {
    const [first, second] = [pool.open([TEACHER])[0], pool.open([TEACHER])[0]] as [Decoder, Decoder];
    const expected = await greedy(first, prompt, 14);
    assert.equal(expected.map((id) => vocabulary.text(id)).join(''), '7+5+0=12|A:12');
    await second.step(prompt);

    // Kill the thread the teacher is pinned to (the only one: one model needs one thread).
    const threads = (pool as unknown as { threads: Array<{ worker: Worker }> }).threads;
    assert.equal(threads.length, 1);
    await threads[0]?.worker.terminate();
    await assert.rejects(second.step([5]), /decoder thread exited/);
    assert.equal(pool.replacements, 1);

    // New sequences, one after the other and two at once, decode the same text; the replacement loads
    // before it answers.
    const [decoder] = pool.open([TEACHER]) as [Decoder];
    assert.deepEqual(await greedy(decoder, prompt, 14), expected);
    const pair = pool.open([TEACHER, TEACHER]);
    assert.deepEqual(await Promise.all(pair.map((one) => greedy(one, prompt, 14))), [expected, expected]);
    assert.equal(pool.replacements, 1);
  });
});
