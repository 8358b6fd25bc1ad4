// Structural limits on every JSON body and non-finite numbers anywhere in a request: the outside fault pass's
// one-request crash (an onnx.batch-infer job whose OIP `parameters` nest thousands of levels deep, once a 500
// that was queued anyway and then broke GET /v1/jobs and the process) is a 400 on both queue backends.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { findLimitViolation, type JsonLimits, scanRawJson } from '../src/lib/json-limits.js';
import { buildApp } from '../src/server/app.js';
import { assertLive, queueAnswers, stopApp, testConfig } from './helpers/app.js';
import { deleteKeys, REDIS_URL, uniquePrefix } from './helpers/redis.js';

const LIMITS: JsonLimits = { maxDepth: 4, maxKeys: 3, maxArrayLength: 5, maxStringLength: 8 };

/** The fault pass's body: params.requests[0].parameters nested `depth` levels deep, written as text. */
function deepParamsBody(depth: number): string {
  const nested = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  return (
    '{"type":"onnx.batch-infer","params":{"model":"spiral-mlp","requests":[{"parameters":' +
    `${nested},"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[0.3,-0.7]}]}]}}`
  );
}

describe('JSON limit checks', () => {
  it('finds depth on the raw bytes, ignoring brackets inside strings', () => {
    const tooDeep = (s: string) => scanRawJson(new TextEncoder().encode(s), 4).tooDeep;
    assert.equal(tooDeep('[[[[1]]]]'), false);
    assert.equal(tooDeep('[[[[[1]]]]]'), true);
    assert.equal(tooDeep('["[[[[[[", {"k\\"[[[[": 1}]'), false);
    assert.equal(tooDeep('[[[[1]]],[[[1]]]]'), false);
  });

  it('finds the integer literals a double would round, and only those', () => {
    const rounded = (s: string) => scanRawJson(new TextEncoder().encode(s), 64).rounded;
    assert.deepEqual(
      rounded('{"id": 9007199254740993, "n": [1, -12345678901234567890, 1000000000000000000000000]}'),
      [9007199254740992, -12345678901234567000, 1e24],
    );
    // Exact (2^53, 2^53 − 1, 2^70), or the shortest spelling of a double (Go and JavaScript write
    // 1.2345678901234567e19 so), a float written with a fraction or an exponent, and digits inside strings:
    // none is listed.
    const exact = '[9007199254740992, 9007199254740991, 1180591620717411303424, 12345678901234567000]';
    assert.deepEqual(rounded(exact), []);
    assert.deepEqual(
      rounded('[0.12345678901234567890, 1.2345678901234567890e3, 12345678901234567890e0]'),
      [],
    );
    assert.deepEqual(rounded('["9007199254740993", {"9007199254740993": "x\\"9007199254740993"}]'), []);
    assert.deepEqual(rounded(`[1${'0'.repeat(400)}1]`), []); // Infinity: the finite-numbers check's
  });

  it('names the first value over each limit by its JSON pointer', () => {
    assert.equal(findLimitViolation({ a: [1, 'short', { b: null }] }, LIMITS), undefined);
    assert.deepEqual(findLimitViolation({ a: { b: { c: { d: { e: 1 } } } } }, LIMITS)?.pointer, '/a/b/c/d');
    assert.equal(findLimitViolation({ a: [1, 2, 3, 4, 5, 6] }, LIMITS)?.limit, 'JSON_MAX_ARRAY_LENGTH');
    assert.equal(findLimitViolation({ a: 1, b: 2, c: 3, d: 4 }, LIMITS)?.limit, 'JSON_MAX_KEYS');
    assert.deepEqual(findLimitViolation({ 'x/y': ['ok', 'too long a string'] }, LIMITS), {
      pointer: '/x~1y/1',
      limit: 'JSON_MAX_STRING_LENGTH',
      message: 'is a string of 17 characters, over the limit of 8 (JSON_MAX_STRING_LENGTH)',
    });
    assert.equal(findLimitViolation({ toolongakey: 1 }, LIMITS)?.limit, 'JSON_MAX_STRING_LENGTH');
    for (const value of [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN]) {
      assert.deepEqual(findLimitViolation({ a: [0, value] }, LIMITS)?.pointer, '/a/1');
    }
    assert.equal(findLimitViolation(Number.NaN, LIMITS)?.limit, 'finite-numbers');
    const rounded = new Set([9007199254740992]);
    assert.deepEqual(
      findLimitViolation({ a: [{ b: 9007199254740992 }] }, LIMITS, rounded)?.pointer,
      '/a/0/b',
    );
    assert.equal(findLimitViolation(9007199254740992, LIMITS, rounded)?.limit, 'exact-integers');
  });
});

for (const backend of ['inline', 'bullmq'] as const) {
  describe(`bodies over a structural limit, ${backend} queue`, () => {
    let app: FastifyInstance;
    const prefix = uniquePrefix();
    before(async () => {
      const env: Record<string, string> = backend === 'bullmq' ? { REDIS_URL, REDIS_PREFIX: prefix } : {};
      app = await buildApp(await testConfig(env), { loadModels: false });
      await app.ready();
      await queueAnswers(app);
    });
    after(async () => {
      await stopApp(app);
      if (backend === 'bullmq') await deleteKeys(prefix);
    });

    it('refuses the deep-params job with a 400 naming JSON_MAX_DEPTH; nothing is queued, the list still answers', async () => {
      for (const depth of [100, 2000, 4000, 100_000]) {
        const response = await app.inject({
          method: 'POST',
          url: '/v1/jobs',
          headers: { 'content-type': 'application/json' },
          payload: deepParamsBody(depth),
        });
        assert.equal(response.statusCode, 400, `depth ${depth}: ${response.body}`);
        assert.match(response.headers['content-type'] as string, /^application\/problem\+json/);
        const problem = response.json();
        assert.equal(problem.type, 'urn:meanserve:problem:json-limit');
        assert.match(problem.detail, /JSON_MAX_DEPTH/);
      }
      const list = await app.inject('/v1/jobs');
      assert.equal(list.statusCode, 200);
      assert.deepEqual(list.json().data, []);
      await assertLive(app);
    });

    it('takes the same request nested within the limit', async () => {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/jobs',
        headers: { 'content-type': 'application/json' },
        payload: deepParamsBody(20),
      });
      // Models are not loaded in this app: the job is refused for that, after the body passed its limits.
      assert.notEqual(response.json().type, 'urn:meanserve:problem:json-limit', response.body);
      assert.equal((await app.inject('/v1/jobs')).statusCode, 200);
    });

    it('refuses 1e309, -1e309 and NaN in a body and in a query with a 400 naming the field', async () => {
      for (const number of ['1e309', '-1e309', '-1E+400']) {
        const response = await app.inject({
          method: 'POST',
          url: '/v1/jobs',
          headers: { 'content-type': 'application/json' },
          payload: `{"type":"mfg.finite","params":{"env":{"name":"beach_bar"},"algorithm":{"name":"fictitious_play"},"atol":${number}}}`,
        });
        assert.equal(response.statusCode, 400, response.body);
        assert.deepEqual(response.json().errors, [
          {
            path: '/body/params/atol',
            message: 'is not a finite number (JSON numbers beyond ±1.8e308 are refused)',
          },
        ]);
      }
      for (const value of ['1e309', 'Infinity', '-Infinity', 'NaN', 'nan', '-1e999']) {
        const response = await app.inject(`/v1/jobs?limit=${encodeURIComponent(value)}`);
        assert.equal(response.statusCode, 400, `${value}: ${response.body}`);
        assert.equal(response.json().errors[0].path, '/query/limit');
      }
      await assertLive(app);
    });

    it('refuses a body with more keys, items or characters than the limits allow', async () => {
      const wide = `{${Array.from({ length: 10_001 }, (_, i) => `"k${i}":1`).join(',')}}`;
      const response = await app.inject({
        method: 'POST',
        url: '/v1/collections',
        headers: { 'content-type': 'application/json' },
        payload: wide,
      });
      assert.equal(response.statusCode, 400);
      assert.match(response.json().detail, /^\/body is an object of 10001 keys.*JSON_MAX_KEYS/);
    });
  });
}

describe('configured limits', () => {
  let app: FastifyInstance;
  after(() => stopApp(app));

  it('applies JSON_MAX_* from the environment', async () => {
    app = await buildApp(
      await testConfig({ JSON_MAX_DEPTH: '3', JSON_MAX_ARRAY_LENGTH: '2', JSON_MAX_STRING_LENGTH: '4' }),
      { loadModels: false },
    );
    const post = (payload: string) =>
      app.inject({
        method: 'POST',
        url: '/v1/jobs',
        headers: { 'content-type': 'application/json' },
        payload,
      });
    assert.match((await post('{"a":{"b":{"c":{}}}}')).json().detail, /deeper than 3 levels/);
    assert.equal((await post('{"a":[1,2,3]}')).json().errors[0].path, '/body/a');
    assert.equal((await post('{"type":"abcde"}')).json().errors[0].path, '/body/type');
    assert.equal((await post('{"type":"abcd"}')).json().type, 'urn:meanserve:problem:invalid-input');
  });
});
