// API keys never reach a log line or an error body: a key sent as ?api_key= (refused, since keys go in the
// Authorization header) is redacted in the request log and in the problem's `instance`; so is a configured key
// under any other parameter name, and the Authorization header of any logged request object.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { REDACTED, redactUrl } from '../src/lib/redact.js';
import { buildApp } from '../src/server/app.js';
import { stopApp, testConfig } from './helpers/app.js';

const KEY = 'secret-key-0123456789abcdef';
const ADMIN = 'admin-key-0123456789abcdef';

describe('redactUrl', () => {
  it('redacts secret-named parameters and known keys, keeping everything else as sent', () => {
    assert.equal(redactUrl('/v1/jobs'), '/v1/jobs');
    assert.equal(redactUrl('/v1/jobs?api_key=abc&limit=5'), `/v1/jobs?api_key=${REDACTED}&limit=5`);
    for (const name of ['apikey', 'API-KEY', 'x-api-key', 'token', 'access_token', 'key', 'password']) {
      assert.equal(redactUrl(`/a?${name}=s3cret`), `/a?${name}=${REDACTED}`, name);
    }
    assert.equal(redactUrl(`/a?q=${KEY}&type=x`, new Set([KEY])), `/a?q=${REDACTED}&type=x`);
    assert.equal(redactUrl('/a?%61pi_key=x&flag'), `/a?%61pi_key=${REDACTED}&flag`);
    assert.equal(redactUrl('/a?bad=%E0%A4%A'), '/a?bad=%E0%A4%A');
  });
});

describe('keys in the request log', () => {
  let app: FastifyInstance;
  const lines: string[] = [];
  before(async () => {
    const config = await testConfig({
      LOG_LEVEL: 'info',
      API_KEYS: `alice:${KEY}`,
      ADMIN_API_KEYS: `ops:${ADMIN}`,
    });
    app = await buildApp(config, { loadModels: false, logStream: { write: (line) => lines.push(line) } });
    await app.ready();
  });
  after(() => stopApp(app));

  it('refuses ?api_key= with 401 and writes the key nowhere', async () => {
    const response = await app.inject(`/v1/job-types?api_key=${KEY}`);
    assert.equal(response.statusCode, 401);
    assert.equal(response.json().instance, `/v1/job-types?api_key=${REDACTED}`);
    const other = await app.inject(`/v1/jobs?state=${ADMIN}`);
    assert.equal(other.statusCode, 401);
    assert.doesNotMatch(other.body, new RegExp(ADMIN));
    const logged = lines.join('');
    assert.match(logged, /"url":"\/v1\/job-types\?api_key=\[redacted\]"/);
    assert.doesNotMatch(logged, new RegExp(KEY));
    assert.doesNotMatch(logged, new RegExp(ADMIN));
  });

  it('redacts the URL of a logged request and credential headers wherever they are logged', () => {
    const request = { method: 'GET', url: `/v1/jobs?api_key=${KEY}`, ip: '127.0.0.1', headers: {} };
    app.log.error({ req: request }, 'a request');
    const logged = JSON.parse(lines.at(-1) as string);
    assert.deepEqual(logged.req, {
      method: 'GET',
      url: `/v1/jobs?api_key=${REDACTED}`,
      remoteAddress: '127.0.0.1',
    });
    app.log.error(
      { headers: { authorization: `Bearer ${KEY}`, 'x-api-key': KEY, accept: '*/*' } },
      'a client',
    );
    assert.deepEqual(JSON.parse(lines.at(-1) as string).headers, {
      authorization: REDACTED,
      'x-api-key': REDACTED,
      accept: '*/*',
    });
  });
});
