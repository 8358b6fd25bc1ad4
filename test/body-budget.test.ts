// The budget of request bodies held at once (BODY_BUDGET_BYTES), over real sockets: an upload still
// arriving holds its declared length; a second one that would pass the budget gets 503 problem+json with
// Retry-After before a byte of its body is read, while small bodies and bodiless requests go on; the
// budget comes back when the first upload's connection closes, and when a response ends.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/server/app.js';
import { listen, stopApp, testConfig } from './helpers/app.js';
import { heldUpload } from './helpers/held-upload.js';
import { waitFor } from './helpers/wait.js';

const MIB = 1024 * 1024;
const INFER = '/v2/models/spiral-mlp/infer';

describe('request body budget', () => {
  let app: FastifyInstance;
  let base: string;
  before(async () => {
    app = await buildApp(await testConfig({ BODY_BUDGET_BYTES: String(3 * MIB) }), { loadModels: false });
    base = await listen(app);
  });
  after(() => stopApp(app));

  const post = (bytes: number) =>
    fetch(base + INFER, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: ' '.repeat(bytes),
    });

  it('refuses an upload past the budget while another is held, and takes it once that one is gone', async () => {
    const held = await heldUpload(base, INFER, 2 * MIB);
    // The held upload is charged from its headers: wait until a second one is refused.
    const refused = await waitFor('the budget to be taken', async () => {
      const reply = await post(2 * MIB);
      return reply.status === 503 ? reply : undefined;
    });
    assert.match(refused.headers.get('content-type') ?? '', /^application\/json/); // the OIP route's shape
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.match((await refused.json()).error, /BODY_BUDGET_BYTES/);
    // Within the budget, and without a body, requests go on.
    assert.equal((await post(64 * 1024)).status, 400); // blank JSON: read and refused by the parser
    assert.equal((await fetch(`${base}/health/live`)).status, 200);

    held.destroy();
    await waitFor('the budget to come back', async () => (await post(2 * MIB)).status === 400);
    // Answered requests gave their charge back too: many in a row are all read.
    for (let i = 0; i < 5; i++) assert.equal((await post(2 * MIB)).status, 400);
  });

  it('lets a request larger than the whole budget through when nothing else is held', async () => {
    assert.equal((await post(4 * MIB)).status, 400);
  });
});
