// API keys: with API_KEYS set, every route in /openapi.json but health and docs answers 401 problem+json
// without a key, with a wrong key and with a malformed header, and does not answer 401 with a key; the
// OpenAPI document and the Swagger UI declare the bearer scheme; key names, never keys, reach the metrics.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ConfigError, loadConfig } from '../src/config.js';
import { bearerToken, keyMatcher } from '../src/server/plugins/auth.js';
import { assertLive, errorContentType, startApp, stopApp } from './helpers/app.js';

const ALICE = 'alice-key-0123456789abcdef';
const BOB = 'bob-key-0123456789abcdef';

interface Operation {
  method: string;
  path: string;
  url: string;
  security: unknown;
  /** The media type the document declares for the operation's 401. */
  unauthorized?: string;
}

type Document = {
  paths: Record<
    string,
    Record<string, { security?: unknown; responses?: Record<string, { content?: Record<string, unknown> }> }>
  >;
};

/** Every operation of the OpenAPI document, with its path parameters filled in. */
export function operations(document: Document) {
  const fill: Record<string, string> = { name: 'spiral-mlp', version: '1', id: '1' };
  const list: Operation[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const url = path.replace(/\{(\w+)\}/g, (_, param: string) => fill[param] ?? 'x');
      const unauthorized = Object.keys(operation.responses?.['401']?.content ?? {})[0];
      list.push({
        method: method.toUpperCase(),
        path,
        url,
        security: operation.security,
        ...(unauthorized === undefined ? {} : { unauthorized }),
      });
    }
  }
  return list;
}

describe('API keys', () => {
  let app: FastifyInstance;
  let document: Parameters<typeof operations>[0] & Record<string, unknown>;
  before(async () => {
    app = await startApp({ API_KEYS: `alice:${ALICE}, bob:${BOB}` });
    document = (await app.inject('/openapi.json')).json();
  });
  after(() => stopApp(app));

  const send = (operation: Operation, authorization?: string) =>
    app.inject({
      method: operation.method as 'GET',
      url: operation.url,
      headers: {
        ...(authorization === undefined ? {} : { authorization }),
        ...(operation.method === 'GET' || operation.method === 'DELETE'
          ? {}
          : { 'content-type': 'application/json' }),
      },
      ...(operation.method === 'GET' || operation.method === 'DELETE' ? {} : { payload: '{}' }),
    });

  it('answers 401 problem+json on every protected route without a key, with a wrong key and a malformed header', async () => {
    const protectedOperations = operations(document).filter((operation) => operation.security === undefined);
    assert.ok(protectedOperations.length >= 25, `${protectedOperations.length} protected operations`);
    const bad = [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      `Bearer ${ALICE}x`,
      `Basic ${Buffer.from(`alice:${ALICE}x`).toString('base64')}`,
      `Basic ${Buffer.from(ALICE).toString('base64')}`,
      `Token ${ALICE}`,
      `Bearer ${ALICE} ${BOB}`,
      ALICE,
    ];
    for (const operation of protectedOperations) {
      for (const authorization of bad) {
        const response = await send(operation, authorization);
        const name = `${operation.method} ${operation.path} with ${JSON.stringify(authorization)}`;
        assert.equal(response.statusCode, 401, name);
        assert.match(response.headers['content-type'] as string, errorContentType(operation.path), name);
        // What the OpenAPI document declares is what the server sent.
        assert.equal(String(response.headers['content-type']).split(';')[0], operation.unauthorized, name);
        assert.match(String(response.headers['www-authenticate']), /^Bearer realm="meanserve",Basic/, name);
        const body = response.json();
        assert.equal(body.status, 401);
        assert.equal(body.type, 'urn:meanserve:problem:unauthorized');
        assert.ok(!response.body.includes(ALICE), 'the key is never echoed');
      }
    }
    await assertLive(app);
  });

  it('does not answer 401 on any route with either key, in any letter case of the scheme, or as a Basic password', async () => {
    const basic = `Basic ${Buffer.from(`any-user:${BOB}`).toString('base64')}`;
    for (const operation of operations(document)) {
      for (const authorization of [`Bearer ${ALICE}`, `bearer ${BOB}`, `BEARER  ${ALICE} `, basic]) {
        const response = await send(operation, authorization);
        assert.notEqual(response.statusCode, 401, `${operation.method} ${operation.path}`);
        assert.ok(response.statusCode < 500 || response.statusCode === 503, `${operation.path}`);
      }
    }
  });

  it('leaves health, the OpenAPI document and the docs open', async () => {
    for (const url of [
      '/health/live',
      '/health/ready',
      '/v2/health/live',
      '/v2/health/ready',
      '/openapi.json',
    ]) {
      assert.equal((await app.inject(url)).statusCode, 200, url);
    }
    assert.equal((await app.inject('/docs/')).statusCode, 200);
    assert.equal((await app.inject('/docs/json')).statusCode, 200);
    const root = await app.inject('/');
    assert.equal(root.statusCode, 302, 'the bare address sends a person to the docs, key or not');
    assert.equal(root.headers.location, '/docs');
    const open = operations(document).filter(
      (operation) => Array.isArray(operation.security) && operation.security.length === 0,
    );
    assert.deepEqual(open.map((operation) => operation.path).sort(), [
      '/health/live',
      '/health/ready',
      '/v2/health/live',
      '/v2/health/ready',
    ]);
  });

  it('closes the admin routes (the model repository API) to API keys: 403 on a server without admin keys', async () => {
    const admin = operations(document).filter(
      (operation) => Array.isArray(operation.security) && operation.security.length > 0,
    );
    assert.deepEqual(admin.map((operation) => operation.path).sort(), [
      '/v1/models/{name}/versions/{version}',
      '/v2/repository/index',
      '/v2/repository/models/{name}/load',
      '/v2/repository/models/{name}/unload',
    ]);
    for (const operation of admin) {
      for (const authorization of [undefined, `Bearer ${ALICE}`]) {
        const response = await send(operation, authorization);
        assert.equal(response.statusCode, 403, `${operation.method} ${operation.path}`);
        assert.match(response.json().detail, /needs an admin key, and this server has none/);
      }
    }
  });

  it('protects metrics and unknown routes too, and ignores a key in the query string', async () => {
    assert.equal((await app.inject('/metrics')).statusCode, 401);
    assert.equal((await app.inject('/nope')).statusCode, 401);
    assert.equal((await app.inject(`/v1/models?api_key=${ALICE}`)).statusCode, 401);
    assert.equal((await app.inject(`/health/../v1/models`)).statusCode, 401);
    const known = await app.inject({ url: '/nope', headers: { authorization: `Bearer ${ALICE}` } });
    assert.equal(known.statusCode, 404);
  });

  it('declares the bearer scheme in the OpenAPI document and the Swagger UI', async () => {
    const schemes = (document.components as { securitySchemes: Record<string, unknown> }).securitySchemes;
    assert.deepEqual(
      {
        type: (schemes.apiKey as { type: string }).type,
        scheme: (schemes.apiKey as { scheme: string }).scheme,
      },
      { type: 'http', scheme: 'bearer' },
    );
    assert.deepEqual(document.security, [{ apiKey: [] }]);
    const models = document.paths['/v1/models']?.get as { responses: Record<string, unknown> };
    assert.ok(models.responses['401'] !== undefined && models.responses['429'] !== undefined);
    const ui = (await app.inject('/docs/json')).json();
    assert.equal(ui.components.securitySchemes.apiKey.scheme, 'bearer');
  });

  it('counts requests by key name in the metrics, never showing a key', async () => {
    await app.inject({ url: '/v1/models', headers: { authorization: `Bearer ${BOB}` } });
    const metrics = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${ALICE}` } });
    assert.match(metrics.body, /meanserve_api_key_requests_total\{key="bob",status="200"\} \d+/);
    assert.match(metrics.body, /meanserve_requests_rejected_total\{reason="unauthorized",key="none"\} \d+/);
    assert.ok(!metrics.body.includes(ALICE) && !metrics.body.includes(BOB));
  });
});

describe('API key configuration and matching', () => {
  it('reads name:key pairs from API_KEYS and API_KEYS_FILE, allowing one name twice while rotating', async () => {
    const file = join(tmpdir(), `meanserve-keys-${process.pid}`);
    await writeFile(file, `# rotated on Monday\nalice:${BOB}\n\nci:ci-key-0123456789abcdef\n`);
    const config = loadConfig({ API_KEYS: `alice:${ALICE}`, API_KEYS_FILE: file });
    assert.deepEqual(
      config.security.apiKeys.map((key) => key.name),
      ['alice', 'alice', 'ci'],
    );
    assert.deepEqual(loadConfig({}).security.apiKeys, []);
  });

  it('refuses short keys, bad names, a key listed twice and an unreadable file', () => {
    assert.throws(() => loadConfig({ API_KEYS: 'alice:short' }), ConfigError);
    assert.throws(() => loadConfig({ API_KEYS: `al ice:${ALICE}` }), ConfigError);
    assert.throws(() => loadConfig({ API_KEYS: ALICE }), ConfigError);
    assert.throws(() => loadConfig({ API_KEYS: `a:${ALICE},b:${ALICE}` }), ConfigError);
    assert.throws(() => loadConfig({ API_KEYS_FILE: '/nonexistent/keys' }), ConfigError);
  });

  it('matches keys exactly and parses the bearer header strictly', () => {
    const match = keyMatcher([
      { name: 'alice', key: ALICE },
      { name: 'bob', key: BOB },
    ]);
    assert.equal(match(ALICE), 'alice');
    assert.equal(match(BOB), 'bob');
    assert.equal(match(ALICE.slice(0, -1)), undefined);
    assert.equal(match(''), undefined);
    assert.equal(bearerToken(`Bearer ${ALICE}`), ALICE);
    assert.equal(bearerToken(`bearer   ${ALICE}  `), ALICE);
    assert.equal(bearerToken(`Bearer ${ALICE} x`), undefined);
    assert.equal(bearerToken('Bearer'), undefined);
    assert.equal(bearerToken(`Bearer\t${ALICE}`), undefined);
  });
});
