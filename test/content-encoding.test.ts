// Compressed request bodies (Content-Encoding), as Triton's HTTP client sends them with
// request_compression_algorithm ('gzip': gzip.compress, 'deflate': zlib.compress) and as curl sends a file
// compressed beforehand. They were parsed as they came: 400 "not valid JSON". Now gzip, deflate and br are
// decoded before any parser, JSON and binary tensor data alike; another coding is a 415 with
// Accept-Encoding; a body that decodes past its route's limit is a 413 however small it was sent, and one
// that decodes past the budget of bodies held at once is a 503.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/server/app.js';
import { listen, startApp, stopApp, testConfig } from './helpers/app.js';
import { heldUpload } from './helpers/held-upload.js';
import { assertKserve } from './helpers/kserve-schemas.js';
import { waitFor } from './helpers/wait.js';

const INFER = '/v2/models/spiral-mlp/infer';
const JSON_REQUEST = Buffer.from(
  JSON.stringify({ inputs: [{ name: 'x', shape: [2, 2], datatype: 'FP32', data: [0.3, -0.7, -0.1, 0.9] }] }),
);
const CODINGS = { gzip: gzipSync, deflate: deflateSync, br: brotliCompressSync };
/** 200 MB of spaces before `{}`: valid JSON, 0.2 MB as gzip. */
const bomb = () => gzipSync(Buffer.concat([Buffer.alloc(200 * 1024 * 1024, 0x20), Buffer.from('{}')]));

describe('compressed request bodies', () => {
  let app: FastifyInstance;
  let plain: unknown;
  const postEncoded = (url: string, coding: string, payload: Buffer) =>
    app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', 'content-encoding': coding },
      payload,
    });
  before(async () => {
    app = await startApp();
    const answer = await app.inject({
      method: 'POST',
      url: INFER,
      headers: { 'content-type': 'application/json' },
      payload: JSON_REQUEST,
    });
    assert.equal(answer.statusCode, 200, answer.body);
    plain = answer.json();
  });
  after(() => stopApp(app));

  for (const [coding, compress] of Object.entries(CODINGS)) {
    it(`answers a ${coding} JSON body as the same body sent plain`, async () => {
      const answer = await postEncoded(INFER, coding, compress(JSON_REQUEST));
      assert.equal(answer.statusCode, 200, answer.body);
      assert.deepEqual(answer.json(), plain);
    });
  }

  it('answers gzipped binary tensor data as tritonclient sends it (Inference-Header-Content-Length of the decoded header)', async () => {
    const header = Buffer.from(
      JSON.stringify({
        inputs: [{ name: 'x', shape: [2, 2], datatype: 'FP32', parameters: { binary_data_size: 16 } }],
      }),
    );
    const tensor = Buffer.from(new Float32Array([0.3, -0.7, -0.1, 0.9]).buffer);
    const answer = await app.inject({
      method: 'POST',
      url: INFER,
      headers: {
        'content-type': 'application/octet-stream',
        'content-encoding': 'gzip',
        'inference-header-content-length': String(header.length),
      },
      payload: gzipSync(Buffer.concat([header, tensor])),
    });
    assert.equal(answer.statusCode, 200, answer.body);
    assert.deepEqual(answer.json(), plain);
  });

  it('refuses another coding with 415 and Accept-Encoding, in each route family’s error shape', async () => {
    for (const [url, shape] of [
      [INFER, 'kserve'],
      ['/v1/embeddings', 'openai'],
      ['/v1/collections', 'problem'],
    ] as const) {
      const answer = await postEncoded(url, 'zstd', JSON_REQUEST);
      assert.equal(answer.statusCode, 415, answer.body);
      assert.equal(answer.headers['accept-encoding'], 'gzip, deflate, br');
      const body = answer.json();
      assert.match(body.detail, /Content-Encoding 'zstd' is not read here/);
      if (shape === 'kserve') assertKserve('errorResponse', { error: body.error });
      if (shape === 'openai') assert.equal(body.error.type, 'invalid_request_error');
    }
  });

  it('refuses a body that is not in the coding it names with 400', async () => {
    const answer = await postEncoded(INFER, 'gzip', JSON_REQUEST);
    assert.equal(answer.statusCode, 400, answer.body);
    assert.match(answer.json().detail, /the body is not valid gzip data/);
  });

  it('stops a body that decodes past its route’s limit with 413, however small it was sent', async () => {
    const compressed = bomb();
    for (const [url, limit] of [
      ['/v1/collections', 1024 * 1024],
      [INFER, 32 * 1024 * 1024],
    ] as const) {
      const answer = await postEncoded(url, 'gzip', compressed);
      assert.equal(answer.statusCode, 413, answer.body);
      assert.match(
        answer.json().detail,
        new RegExp(`decodes \\(Content-Encoding: gzip\\) to more than this route's limit of ${limit} bytes`),
      );
    }
  });

  it('is read from curl, which sends a file compressed beforehand', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meanserve-encoding-'));
    try {
      const file = join(dir, 'request.json.gz');
      await writeFile(file, gzipSync(JSON_REQUEST));
      const base = await listen(app);
      const { stdout } = await promisify(execFile)('curl', [
        '-sS',
        '-X',
        'POST',
        `${base}${INFER}`,
        '-H',
        'content-type: application/json',
        '-H',
        'content-encoding: gzip',
        '--data-binary',
        `@${file}`,
      ]);
      assert.deepEqual(JSON.parse(stdout), plain);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('compressed bodies and the budget of bodies held at once', () => {
  let app: FastifyInstance;
  let base: string;
  before(async () => {
    app = await buildApp(await testConfig({ BODY_BUDGET_BYTES: String(4 * 1024 * 1024) }), {
      loadModels: false,
    });
    base = await listen(app);
  });
  after(() => stopApp(app));

  it('charges a compressed body as it decodes: 503 once it would pass the budget beside another upload', async () => {
    // An upload declaring 3 MiB and sending 1 KiB holds 3 MiB of the 4.
    const held = await heldUpload(base, INFER, 3 * 1024 * 1024);
    // 2 MiB of JSON, sent as a few kilobytes: refused once the held upload is charged (its headers arrived).
    const body = gzipSync(Buffer.concat([Buffer.alloc(2 * 1024 * 1024, 0x20), JSON_REQUEST]));
    const send = () =>
      fetch(`${base}${INFER}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body,
      });
    const refused = await waitFor('the decoding body to be refused', async () => {
      const response = await send();
      const text = await response.text();
      return response.status === 503 && /BODY_BUDGET_BYTES/.test(text) ? text : undefined;
    });
    assert.match(JSON.parse(refused).detail, /leave no room for this one's as it decodes/);
    held.destroy();
    // The held upload gone, the same body fits (its model is not loaded here: 4xx/503 after the body).
    const answered = await waitFor('the body to be read once the budget is free', async () => {
      const response = await send();
      const text = await response.text();
      return /BODY_BUDGET_BYTES/.test(text) ? undefined : { status: response.status, text };
    });
    assert.doesNotMatch(answered.text, /decodes|BODY_BUDGET_BYTES/);
  });
});
