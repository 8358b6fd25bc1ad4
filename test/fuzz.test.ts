// Property-based fuzzing of every operation in /openapi.json (fast-check): generated malformed path params,
// query strings, headers and bodies — mutated examples, random JSON, and transport-level cases (truncated
// JSON, BOM, prototype poisoning, deep nesting, 1e309, lone surrogates).
// Every answer is a problem-free 2xx/4xx or a 503, within a bound, and the server stays live throughout.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { assertLive, startApp, stopApp } from './helpers/app.js';

const KEY = 'fuzz-key-0123456789abcdef';
/** Runs per operation: 34 operations × 100 requests take about 20 s. */
const RUNS = 100;
const REQUEST_BOUND_MS = 15_000;

interface Operation {
  method: string;
  path: string;
  params: string[];
  query: string[];
  example: unknown;
  hasBody: boolean;
}

type JsonSchema = { examples?: unknown[]; example?: unknown; properties?: Record<string, unknown> };

function operationsOf(document: {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: { in: string; name: string }[];
        requestBody?: { content: Record<string, { schema?: JsonSchema }> };
      }
    >
  >;
}): Operation[] {
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => {
      const schema = operation.requestBody?.content['application/json']?.schema;
      return {
        method: method.toUpperCase(),
        path,
        params: (operation.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
        query: (operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
        example: schema?.examples?.[0] ?? schema?.example ?? {},
        hasBody: operation.requestBody !== undefined,
      };
    }),
  );
}

const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  '..',
  '%2e%2e%2f',
  'a'.repeat(10_000),
  '-1',
  '1e309',
  '9007199254740993',
  'NaN',
  '\u202e\u200b\u0301',
  '👩‍👩‍👧‍👦',
  '__proto__',
  'constructor',
  '1:2',
];

const nastyString = fc.oneof(fc.constantFrom(...NASTY_STRINGS), fc.string({ unit: 'binary', maxLength: 64 }));

/** JSON values of every kind, including the numbers and strings that break naive validators. */
const jsonLeaf = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  nastyString,
  fc.constantFrom(-0, 2 ** 53 + 1, -(2 ** 63), 1e300, 0.5, -1, 0, true, false, null, 1e-300),
  fc.array(fc.double(), { maxLength: 50 }),
);

/** The route's example with one field replaced, removed, or an unknown one added. */
function mutated(example: unknown): fc.Arbitrary<unknown> {
  if (example === null || typeof example !== 'object' || Array.isArray(example)) return jsonLeaf;
  const keys = Object.keys(example);
  return fc.oneof(
    fc
      .record({ key: fc.constantFrom(...(keys.length > 0 ? keys : ['x'])), value: jsonLeaf })
      .map(({ key, value }) => ({
        ...example,
        [key]: value,
      })),
    fc.constantFrom(...(keys.length > 0 ? keys : ['x'])).map((key) => {
      const copy = { ...(example as Record<string, unknown>) };
      delete copy[key];
      return copy;
    }),
    fc.record({ key: nastyString, value: jsonLeaf }).map(({ key, value }) => ({ ...example, [key]: value })),
  );
}

const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const RAW_BODIES = [
  '',
  '{',
  '{"a":1',
  '\ufeff{}',
  '{}garbage',
  '{"__proto__":{"polluted":1}}',
  '{"constructor":{"prototype":{"polluted":1}}}',
  deep(200),
  deep(50_000),
  '{"n":1e309}',
  '{"seed":123456789012345678901234567890}',
  '"\\ud800"',
  '{"a":"\\u0000"}',
  'null',
  '[]',
  '{"a":1,"a":2}',
];

/** A body as the bytes that go on the wire. */
function body(example: unknown): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: mutated(example).map((value) => JSON.stringify(value) ?? 'null') },
    { weight: 2, arbitrary: fc.constantFrom(...RAW_BODIES) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value) ?? 'null') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  );
}

const contentType = fc.constantFrom(
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  '',
);

const authorization = fc.oneof(
  { weight: 6, arbitrary: fc.constant(`Bearer ${KEY}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(undefined, '', 'Bearer', `Bearer ${KEY}x`, `Basic ${KEY}`, `bearer   ${KEY} `),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((value) => value.replace(/[^\x20-\x7e]/g, '')) },
);

/** Header values must be printable ASCII on the wire; generated ones are cut to that. */
const headerValue = fc.oneof(
  fc.constantFrom('x', 'a'.repeat(300), '1', '-', ':', '\t'),
  fc.string({ maxLength: 80 }).map((value) => value.replace(/[^\x20-\x7e]/g, '')),
);

function segment(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return '%ZZ'; // a lone surrogate cannot be encoded; send a malformed escape instead
  }
}

function request(operation: Operation) {
  return fc.record({
    params: fc.tuple(
      ...operation.params.map(() =>
        fc.oneof(fc.constantFrom('spiral-mlp', '1', 'x', '%ZZ', '%00'), nastyString.map(segment)),
      ),
    ),
    query: fc.dictionary(
      fc.oneof(
        fc.constantFrom(...(operation.query.length > 0 ? operation.query : ['q'])),
        fc.string({ maxLength: 8 }),
      ),
      nastyString,
      { maxKeys: 4 },
    ),
    body: operation.hasBody ? body(operation.example) : fc.constant(undefined),
    contentType,
    authorization,
    idempotencyKey: fc.option(headerValue),
    requestId: fc.option(headerValue),
  });
}

describe('fuzzing every route in /openapi.json', () => {
  let app: FastifyInstance;
  let operations: Operation[];
  before(async () => {
    app = await startApp({ API_KEYS: `fuzz:${KEY}` });
    operations = operationsOf((await app.inject('/openapi.json')).json());
  });
  after(() => stopApp(app));

  it('answers every malformed request with a 2xx, 4xx or 503 in bounded time, and stays live', async () => {
    assert.ok(operations.length >= 25, `${operations.length} operations`);
    const started = Date.now();
    let requests = 0;
    const statuses = new Map<number, number>();
    for (const operation of operations) {
      await fc.assert(
        fc.asyncProperty(request(operation), async (generated) => {
          let url = operation.path;
          operation.params.forEach((name, index) => {
            url = url.replace(`{${name}}`, generated.params[index] as string);
          });
          const query = new URLSearchParams(generated.query).toString();
          if (query !== '') url += `?${query}`;
          const headers: Record<string, string> = {};
          if (generated.authorization !== undefined) headers.authorization = generated.authorization;
          if (generated.idempotencyKey !== null) headers['idempotency-key'] = generated.idempotencyKey;
          if (generated.requestId !== null) headers['x-request-id'] = generated.requestId;
          if (generated.body !== undefined && generated.contentType !== '')
            headers['content-type'] = generated.contentType;
          const name = `${operation.method} ${url.slice(0, 120)} ${JSON.stringify(generated).slice(0, 300)}`;
          let timer: NodeJS.Timeout | undefined;
          const response = await Promise.race([
            app.inject({
              method: operation.method as 'GET',
              url,
              headers,
              ...(generated.body === undefined ? {} : { payload: generated.body }),
            }),
            new Promise<never>((_, reject) => {
              timer = setTimeout(
                () => reject(new Error(`no answer within ${REQUEST_BOUND_MS} ms: ${name}`)),
                REQUEST_BOUND_MS,
              );
            }),
          ]).finally(() => clearTimeout(timer));
          requests++;
          statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
          assert.ok(
            response.statusCode < 500 || response.statusCode === 503,
            `${response.statusCode} ${response.body.slice(0, 300)} for ${name}`,
          );
          if (response.statusCode >= 400) {
            // problem+json, or application/json with the problem members where an ecosystem's clients read
            // their own shape (OpenAI routes, /v2); a fuzzed path may match no route at all.
            assert.match(
              String(response.headers['content-type']),
              /^application\/(problem\+)?json/,
              `${response.statusCode} with content-type ${response.headers['content-type']}: ${response.body.slice(0, 200)} for ${name}`,
            );
            assert.equal(response.json().status, response.statusCode, name);
          }
          await assertLive(app);
        }),
        { numRuns: RUNS, seed: 20261203, endOnFailure: true, includeErrorInReport: true },
      );
    }
    console.log(
      `fuzz: ${requests} requests over ${operations.length} operations in ${Date.now() - started} ms; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`,
    );
  });
});
