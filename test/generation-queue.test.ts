// Completions beyond GENERATION_CONCURRENCY wait their turn in a bounded FIFO instead of a 503: with one slot
// and a queue of one, the second request waits and is answered (the same text as alone), the third is a 503,
// and a waiting client that leaves takes its place out of the queue.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { assertLive, DEFAULT_DECODERS, listen, startApp, stopApp } from './helpers/app.js';
import { LONG_GENERATION } from './helpers/generation.js';
import { sample } from './helpers/prometheus.js';
import { waitFor } from './helpers/wait.js';

describe('the generation queue', () => {
  let app: FastifyInstance;
  let base: string;
  before(async () => {
    app = await startApp({ ...DEFAULT_DECODERS, GENERATION_CONCURRENCY: '1', GENERATION_QUEUE_LIMIT: '1' });
    base = await listen(app);
  });
  after(() => stopApp(app));

  const gauges = async () => {
    const text = (await app.inject('/metrics')).body;
    return {
      active: sample(text, 'meanserve_generations_active'),
      waiting: sample(text, 'meanserve_generations_waiting'),
    };
  };
  const small = { prompt: 'Q:4817+2956=', temperature: 1, seed: 9 };
  const complete = (body: object) => app.inject({ method: 'POST', url: '/v1/completions', payload: body });

  it('answers a request that waited for the slot, and refuses one more than the queue holds', async () => {
    const alone = (await complete(small)).json().choices[0].text;
    const long = complete(LONG_GENERATION);
    await waitFor('the long generation to hold the slot', async () => (await gauges()).active === 1);
    const waiting = complete(small);
    await waitFor('the second request to wait', async () => (await gauges()).waiting === 1);
    const refused = await complete(small);
    assert.equal(refused.statusCode, 503, refused.body);
    assert.ok(refused.headers['retry-after']);
    assert.match(refused.json().error.message, /1 waiting/);
    assert.equal((await long).statusCode, 200);
    const answered = await waiting;
    assert.equal(answered.statusCode, 200, answered.body);
    assert.equal(answered.json().choices[0].text, alone, 'waiting changes nothing in the answer');
    assert.deepEqual(await gauges(), { active: 0, waiting: 0 });
  });

  it('takes a waiting request whose client left out of the queue', async () => {
    const long = complete(LONG_GENERATION);
    await waitFor('the long generation to hold the slot', async () => (await gauges()).active === 1);
    const body = JSON.stringify(small);
    const request = httpRequest(`${base}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    request.on('error', () => {});
    request.end(body);
    await waitFor('the request to wait', async () => (await gauges()).waiting === 1);
    request.destroy();
    await waitFor('the queue to empty', async () => (await gauges()).waiting === 0);
    // The slot is free for the next request as soon as the long one ends: nobody is left waiting for it.
    assert.equal((await long).statusCode, 200);
    assert.deepEqual(await gauges(), { active: 0, waiting: 0 });
    await assertLive(app);
  });
});
