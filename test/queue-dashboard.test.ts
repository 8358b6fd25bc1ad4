// The queue dashboard (bull-board) at /admin/queues with the BullMQ backend: only an admin key opens it (as
// Bearer or as a Basic-auth password, what a browser sends), an API key does not, and it lists the job
// types' queues. Without ADMIN_API_KEYS, or with the inline backend, there is no dashboard at all.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { JOB_TYPES } from '../src/jobs/catalog.js';
import { buildApp } from '../src/server/app.js';
import { queueAnswers, stopApp, testConfig } from './helpers/app.js';
import { deleteKeys, REDIS_URL, uniquePrefix } from './helpers/redis.js';

const ADMIN = 'admin-key-0123456789abcdef';
const USER = 'user-key-0123456789abcdef';

async function appWith(env: Record<string, string>): Promise<FastifyInstance> {
  const app = await buildApp(await testConfig(env), { loadModels: false });
  await app.ready();
  return app;
}

describe('queue dashboard at /admin/queues', () => {
  const prefix = uniquePrefix();
  let app: FastifyInstance;
  before(async () => {
    app = await appWith({
      REDIS_URL,
      REDIS_PREFIX: prefix,
      API_KEYS: `user:${USER}`,
      ADMIN_API_KEYS: `ops:${ADMIN}`,
    });
  });
  after(async () => {
    await stopApp(app);
    await deleteKeys(prefix);
  });

  it('answers 401 with a Basic challenge without an admin key, an API key included', async () => {
    for (const authorization of [
      undefined,
      `Bearer ${USER}`,
      `Basic ${Buffer.from(`x:${USER}`).toString('base64')}`,
    ]) {
      const response = await app.inject({
        url: '/admin/queues',
        headers: authorization === undefined ? {} : { authorization },
      });
      assert.equal(response.statusCode, 401, String(authorization));
      assert.match(response.headers['www-authenticate'] as string, /^Basic realm="meanserve admin"/);
      assert.match(response.headers['content-type'] as string, /^application\/problem\+json/);
    }
    const api = await app.inject({
      url: '/admin/queues/api/queues',
      headers: { authorization: `Bearer ${USER}` },
    });
    assert.equal(api.statusCode, 401);
  });

  it('serves the dashboard and its queue list to an admin key, as Bearer or Basic', async () => {
    const page = await app.inject({ url: '/admin/queues', headers: { authorization: `Bearer ${ADMIN}` } });
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'] as string, /text\/html/);
    const basic = `Basic ${Buffer.from(`ops:${ADMIN}`).toString('base64')}`;
    const queues = await app.inject({ url: '/admin/queues/api/queues', headers: { authorization: basic } });
    assert.equal(queues.statusCode, 200);
    const names = (queues.json().queues as { name: string }[]).map((queue) => queue.name).sort();
    assert.equal(names.length, JOB_TYPES.length);
    // An admin key is not an API key.
    assert.equal(
      (await app.inject({ url: '/v1/models', headers: { authorization: `Bearer ${ADMIN}` } })).statusCode,
      401,
    );
  });
});

describe('no queue dashboard', () => {
  it('is not served with the inline backend or without admin keys', async () => {
    const inline = await appWith({ ADMIN_API_KEYS: `ops:${ADMIN}` });
    try {
      const response = await inline.inject({
        url: '/admin/queues',
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      assert.equal(response.statusCode, 404);
    } finally {
      await stopApp(inline);
    }
    const prefix = uniquePrefix();
    const bullmq = await appWith({ REDIS_URL, REDIS_PREFIX: prefix });
    try {
      await queueAnswers(bullmq);
      assert.equal((await bullmq.inject('/admin/queues')).statusCode, 404);
    } finally {
      await stopApp(bullmq);
      await deleteKeys(prefix);
    }
  });
});
