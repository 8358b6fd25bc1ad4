// The error model: every 4xx/5xx is application/problem+json naming what was wrong, and the server stays
// live after each bad request.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { FULLY_CHECKED_VALUES } from '../src/lib/ajv.js';
import { assertLive, errorContentType, startApp, stopApp } from './helpers/app.js';

describe('problem details for bad requests', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await startApp({ BODY_LIMIT_BYTES: '16384', INFERENCE_BODY_LIMIT_BYTES: '65536' });
  });
  after(() => stopApp(app));

  const post = (url: string, payload: string, contentType = 'application/json') =>
    app.inject({ method: 'POST', url, payload, headers: { 'content-type': contentType } });

  it('answers 404 problem+json for an unknown route', async () => {
    const response = await app.inject({ method: 'GET', url: '/nope?x=1' });
    assert.equal(response.statusCode, 404);
    assert.match(response.headers['content-type'] as string, /^application\/problem\+json/);
    const body = response.json();
    assert.equal(body.type, 'urn:meanserve:problem:not-found');
    assert.equal(body.status, 404);
    assert.equal(body.instance, '/nope?x=1');
    assert.match(body.detail, /GET \/nope/);
    await assertLive(app);
  });

  it('answers 400 for malformed JSON', async () => {
    const response = await post('/v1/jobs', '{"type": "onnx.batch-infer", ');
    assert.equal(response.statusCode, 400);
    assert.match(response.headers['content-type'] as string, /^application\/problem\+json/);
    assert.equal(response.json().status, 400);
    await assertLive(app);
  });

  it('answers 400 for an empty JSON body', async () => {
    const response = await post('/v1/jobs', '');
    assert.equal(response.statusCode, 400);
    await assertLive(app);
  });

  it('names the field of a wrong type, without coercing strings to numbers', async () => {
    const response = await post(
      '/v1/jobs',
      JSON.stringify({ type: 'onnx.batch-infer', params: {}, seed: '7' }),
    );
    assert.equal(response.statusCode, 400);
    const body = response.json();
    assert.deepEqual(
      body.errors.map((e: { path: string }) => e.path),
      ['/body/seed'],
    );
    await assertLive(app);
  });

  it('says what a union field takes, or what is wrong in the branch the value fits, without the rest', async () => {
    const errorsOf = async (url: string, body: object) => {
      const response = await post(url, JSON.stringify(body));
      assert.equal(response.statusCode, 400);
      return response.json().errors as Array<{ path: string; message: string }>;
    };
    // No branch fits: one error naming the types and values taken.
    assert.deepEqual(await errorsOf('/v1/completions', { prompt: 'Q:1+2=', stop: 5 }), [
      { path: '/body/stop', message: 'must be string or array' },
    ]);
    // A union inside a union: the filter value is a scalar (itself a union) or {in: [...]}.
    assert.deepEqual(await errorsOf('/v1/collections/c/search', { vector: [1], filter: { f: null } }), [
      { path: '/body/filter/f', message: 'must be string or number or boolean or object' },
    ]);
    assert.deepEqual(
      await errorsOf('/v1/collections/c/search', { vector: [1], filter: { f: { in: [null] } } }),
      [{ path: '/body/filter/f/in/0', message: 'must be string or number or boolean' }],
    );
    assert.deepEqual(await errorsOf('/v1/responses', { input: '1+2', text: { verbosity: 'low' } }), [
      { path: '/body/text/verbosity', message: 'must be "medium" or null' },
    ]);
    // Each place the union fails, on its own.
    assert.deepEqual(
      await errorsOf('/v1/chat/completions', {
        messages: [
          { role: 'user', content: 5 },
          { role: 'user', content: true },
        ],
      }),
      [
        { path: '/body/messages/0/content', message: 'must be string or array' },
        { path: '/body/messages/1/content', message: 'must be string or array' },
      ],
    );
    // The value is a string: the string branch's error, not "must be array".
    assert.deepEqual(await errorsOf('/v1/completions', { prompt: 'Q:1+2=', stop: '' }), [
      { path: '/body/stop', message: 'must NOT have fewer than 1 characters' },
    ]);
    // The value is an array: what is wrong inside it, not "must be string".
    const parts = await errorsOf('/v1/chat/completions', {
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: 'x' }] }],
    });
    assert.deepEqual(
      parts.map((error) => error.path),
      [
        '/body/messages/0/content/0/text',
        '/body/messages/0/content/0/image_url',
        '/body/messages/0/content/0/type',
      ],
    );
    await assertLive(app);
  });

  it('names a missing field', async () => {
    const response = await post('/v1/jobs', JSON.stringify({ params: {} }));
    assert.equal(response.statusCode, 400);
    assert.ok(response.json().errors.some((e: { path: string }) => e.path === '/body/type'));
    await assertLive(app);
  });

  it('rejects unknown fields with 400 naming them', async () => {
    const response = await post(
      '/v1/jobs',
      JSON.stringify({ type: 'onnx.batch-infer', params: {}, colour: 'red' }),
    );
    assert.equal(response.statusCode, 400);
    const error = response.json().errors.find((e: { path: string }) => e.path === '/body/colour');
    assert.ok(error, 'the unknown field is named');
    assert.match(error.message, /unknown field/);
    await assertLive(app);
  });

  it('lists at most 50 field errors, and counts the rest, for a body with hundreds of bad items', async () => {
    const edges = Array.from({ length: 300 }, () => [-1, -2]);
    const response = await post(
      '/v1/jobs',
      JSON.stringify({
        type: 'mfg.graphex',
        params: { game: { name: 'sis' }, graph: { kind: 'edge_list', edges } },
      }),
    );
    assert.equal(response.statusCode, 400, response.body);
    const { errors, detail } = response.json();
    assert.equal(errors.length, 51);
    assert.match(errors[0].path, /^\/body\/params\/graph\/edges\/0/);
    assert.match(errors[50].message, /and 550 more errors not listed/);
    assert.ok(detail.length <= 2002);
    await assertLive(app);
  });

  it('checks a body of more than FULLY_CHECKED_VALUES values only up to its first error', async () => {
    // Every value of a hostile body can fail: 256 000 null filter values held the event loop for 6 s while
    // every error was listed, and a 32 MB body would hold it for minutes. These 12 000 fit the test's limit.
    const nulls = `[${Array(1000).fill('null').join(',')}]`;
    const query = `{"vector":[1,2,3],"filter":{"f":{"in":${nulls}}}}`;
    const hostile = await post(
      '/v1/collections/c/search/batch',
      `{"queries":[${Array(12).fill(query).join(',')}]}`,
    );
    assert.equal(hostile.statusCode, 400, hostile.body);
    const { errors } = hostile.json();
    assert.deepEqual(errors[0], {
      path: '/body/queries/0/filter/f/in/0',
      message: 'must be string or number or boolean',
    });
    assert.equal(errors.length, 2);
    assert.equal(errors[1].path, '/body');
    assert.match(errors[1].message, /checked only up to its first error/);
    // At the limit every error is still counted; one value more and checking stops at the first. The body
    // holds its vector's items, the vector, and the defaults k and with_payload.
    const trues = (count: number) => JSON.stringify({ vector: Array(count - 3).fill(true) });
    const atLimit = await post('/v1/collections/c/search', trues(FULLY_CHECKED_VALUES));
    assert.match(atLimit.json().errors[50].message, /and 971 more errors not listed/);
    const overLimit = await post('/v1/collections/c/search', trues(FULLY_CHECKED_VALUES + 1));
    assert.deepEqual(
      overLimit.json().errors.map((error: { path: string }) => error.path),
      ['/body/vector/0', '/body'],
    );
    // Job params too, at submit.
    const edges = Array.from({ length: 400 }, () => [-1, -2]);
    const job = await post(
      '/v1/jobs',
      JSON.stringify({
        type: 'mfg.graphex',
        params: { game: { name: 'sis' }, graph: { kind: 'edge_list', edges } },
      }),
    );
    assert.equal(job.statusCode, 400, job.body);
    assert.deepEqual(
      job.json().errors.map((error: { path: string }) => error.path),
      ['/body/params/graph/edges/0/0', '/body/params'],
    );
    await assertLive(app);
  });

  it('rejects prototype poisoning', async () => {
    const response = await post('/v1/jobs', '{"type":"x","params":{},"__proto__":{"polluted":true}}');
    assert.equal(response.statusCode, 400);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    await assertLive(app);
  });

  it('answers 413 for a body over the limit, on ordinary and inference routes', async () => {
    const body = (bytes: number) =>
      JSON.stringify({ type: 'onnx.batch-infer', params: { pad: 'x'.repeat(bytes) } });
    const cases = [
      { url: '/v1/jobs', bytes: 70_000 },
      { url: '/v2/models/spiral-mlp/infer', bytes: 70_000 },
      // An ordinary route has the smaller BODY_LIMIT_BYTES.
      { url: '/v1/jobs/onnx.batch-infer_0', bytes: 20_000, method: 'DELETE' as const },
    ];
    for (const { url, bytes, method } of cases) {
      const response = await app.inject({
        method: method ?? 'POST',
        url,
        payload: body(bytes),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(response.statusCode, 413, url);
      assert.match(response.headers['content-type'] as string, errorContentType(url));
      assert.equal(response.json().status, 413);
    }
    await assertLive(app);
  });

  it('answers 415 for a content type it does not parse', async () => {
    for (const contentType of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded']) {
      const response = await post('/v1/jobs', 'type=onnx.batch-infer', contentType);
      assert.equal(response.statusCode, 415, contentType);
      assert.match(response.headers['content-type'] as string, /^application\/problem\+json/);
    }
    await assertLive(app);
  });

  it('validates query strings and path params with field paths', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/jobs?limit=0' });
    assert.equal(response.statusCode, 400);
    assert.equal(response.json().errors[0].path, '/query/limit');
    const badId = await app.inject({ method: 'GET', url: '/v1/jobs/has%20space' });
    assert.equal(badId.statusCode, 400);
    assert.equal(badId.json().errors[0].path, '/params/id');
    await assertLive(app);
  });
});
