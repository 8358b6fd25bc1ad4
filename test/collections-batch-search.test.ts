// A batch of searches gives the event loop back as it goes. Searches run on the event loop (a query for
// 1 000 of 60 000 points takes ~2.7 ms); a batch of 256 held it for 0.7 s, and sixteen such batches at once
// left /health/live unanswered for more than 10 s. Shown by order, not time: a callback queued after the
// batch started runs before the batch ends, and the answers are those of the queries one by one.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/server/app.js';
import { stopApp, testConfig } from './helpers/app.js';

const POINTS = 20_000;
const DIM = 16;

/** Deterministic pseudo-random vectors (a linear congruential generator). */
function vectors(count: number, seed: number): number[][] {
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31 - 0.5;
  };
  return Array.from({ length: count }, () => Array.from({ length: DIM }, next));
}

describe('a batch of searches', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await buildApp(await testConfig(), { loadModels: false });
    const created = await app.inject({
      method: 'POST',
      url: '/v1/collections',
      payload: { name: 'many', dim: DIM, metric: 'l2', index: { type: 'flat' } },
    });
    assert.equal(created.statusCode, 201, created.body);
    const all = vectors(POINTS, 7);
    for (let start = 0; start < POINTS; start += 1000) {
      const upserted = await app.inject({
        method: 'PUT',
        url: '/v1/collections/many/points',
        payload: {
          points: all.slice(start, start + 1000).map((vector, i) => ({ id: `p${start + i}`, vector })),
        },
      });
      assert.equal(upserted.statusCode, 200, upserted.body);
    }
  });
  after(() => stopApp(app));

  it('lets other work run while it searches, and answers as the queries one by one would', async () => {
    const queries = vectors(256, 11).map((vector) => ({ vector, k: 1000, with_payload: false }));
    const paths = queries.map((_, at) => `/body/queries/${at}`);
    let finished = false;
    const batch = app.retrieval.search('many', queries, paths).then((answer) => {
      finished = true;
      return answer;
    });
    // Queued now, behind the batch: before, it ran only once all 256 searches had.
    const ranDuring = new Promise<boolean>((resolve) => setImmediate(() => resolve(!finished)));
    assert.equal(await ranDuring, true, 'the batch held the event loop to its end');
    const { results } = await batch;
    for (const at of [0, 100, 255]) {
      const alone = await app.retrieval.search('many', [queries[at] as (typeof queries)[number]], ['/body']);
      assert.deepEqual(results[at], alone.results[0]);
    }
  });
});
