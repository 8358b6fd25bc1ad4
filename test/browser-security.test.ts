// Security headers on every response, a Content-Security-Policy that /docs renders under in a real browser
// (Debian's Chromium through playwright-core) with no violation reported, and CORS: off by default, on for the
// origins CORS_ORIGINS names, its preflight answered without an API key, and a page of such an origin able
// to read a streamed completion, and to call the API through the openai SDK (whose own headers the preflight
// must allow).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { ConfigError, parseCorsOrigins } from '../src/config.js';
import { buildApp } from '../src/server/app.js';
import { listen, queueAnswers, spiralJob, startApp, stopApp, testConfig } from './helpers/app.js';
import { launchChromium, NOTHING_WRONG, watchPage } from './helpers/chromium.js';
import { deleteKeys, REDIS_URL, uniquePrefix } from './helpers/redis.js';

const KEY = 'browser-key-0123456789abcdef';
const ADMIN = 'admin-key-0123456789abcdef';

async function appWith(env: Record<string, string> = {}): Promise<FastifyInstance> {
  const app = await buildApp(await testConfig(env), { loadModels: false });
  await app.ready();
  return app;
}

describe('security headers', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await appWith();
  });
  after(() => stopApp(app));

  it("sends OWASP's API headers on API and error responses: nothing runs, is framed, sniffed or stored", async () => {
    for (const url of ['/health/live', '/v1/job-types', '/v1/nowhere']) {
      const response = await app.inject({ url, headers: { origin: 'https://elsewhere.example' } });
      assert.equal(response.headers['x-content-type-options'], 'nosniff', url);
      assert.equal(response.headers['x-frame-options'], 'DENY', url);
      assert.equal(
        response.headers['content-security-policy'],
        "default-src 'none'; frame-ancestors 'none'",
        url,
      );
      assert.equal(response.headers['cache-control'], 'no-store', url);
      assert.match(response.headers['strict-transport-security'] as string, /max-age=\d+/, url);
      assert.equal(response.headers['cross-origin-resource-policy'], 'same-origin', url);
      // helmet's document headers are for pages only
      assert.equal(response.headers['cross-origin-opener-policy'], undefined, url);
      assert.equal(response.headers['access-control-allow-origin'], undefined, url);
    }
  });

  it('sends the pages, /docs and the OpenAPI document the CSP they render under, with frame denial', async () => {
    for (const url of ['/jobs', '/meanflow', '/docs/', '/openapi.json']) {
      const response = await app.inject({ url, headers: { origin: 'https://elsewhere.example' } });
      assert.equal(response.headers['x-content-type-options'], 'nosniff', url);
      assert.equal(response.headers['x-frame-options'], 'DENY', url);
      const csp = response.headers['content-security-policy'] as string;
      assert.match(csp, /default-src 'self'/, url);
      assert.match(csp, /frame-ancestors 'none'/, url);
      assert.match(csp, /script-src 'self';/, url);
      assert.doesNotMatch(csp, /upgrade-insecure-requests/, url);
      assert.equal(response.headers['cross-origin-opener-policy'], 'same-origin', url);
      assert.equal(response.headers['access-control-allow-origin'], undefined, url);
    }
  });
});

describe('CORS when CORS_ORIGINS is set', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await appWith({ CORS_ORIGINS: 'https://app.example.com', API_KEYS: `web:${KEY}` });
  });
  after(() => stopApp(app));

  it('answers a preflight from an allowed origin without a key, and allows nothing to other origins', async () => {
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/v1/jobs',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    assert.equal(preflight.statusCode, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.match(preflight.headers['access-control-allow-headers'] as string, /authorization/);
    const other = await app.inject({
      method: 'OPTIONS',
      url: '/v1/jobs',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(other.headers['access-control-allow-origin'], undefined);
  });

  it('adds the allow-origin header to a keyed request, and the key is still needed', async () => {
    const origin = { origin: 'https://app.example.com' };
    const keyed = await app.inject({
      url: '/v1/job-types',
      headers: { ...origin, authorization: `Bearer ${KEY}` },
    });
    assert.equal(keyed.statusCode, 200);
    assert.equal(keyed.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.match(keyed.headers['access-control-expose-headers'] as string, /retry-after/);
    assert.equal((await app.inject({ url: '/v1/job-types', headers: origin })).statusCode, 401);
  });

  it('refuses a malformed origin at start', () => {
    assert.deepEqual(parseCorsOrigins(' * '), ['*']);
    assert.deepEqual(parseCorsOrigins(undefined), []);
    assert.throws(() => parseCorsOrigins('app.example.com'), ConfigError);
    assert.throws(() => parseCorsOrigins('https://app.example.com/path'), ConfigError);
  });
});

const OPENAI_SDK = new URL('../node_modules/openai/', import.meta.url).pathname;

describe('a page of an allowed origin in headless Chromium', () => {
  // The page's origin: another server on the loopback (Chromium asks permission before a page elsewhere
  // may call a loopback address).
  let pages: Server;
  let origin: string;
  let app: FastifyInstance;
  let browser: Browser;
  let base: string;
  before(async () => {
    // The page's own files: an empty page, and the openai SDK's ES modules as a site would bundle them.
    pages = createServer((request, response) => {
      const sdkFile = /^\/openai\/([\w/.-]+\.mjs)$/.exec(request.url ?? '')?.[1];
      if (sdkFile === undefined || sdkFile.includes('..')) {
        response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html>');
        return;
      }
      readFile(`${OPENAI_SDK}${sdkFile}`).then(
        (code) => response.writeHead(200, { 'content-type': 'text/javascript' }).end(code),
        () => response.writeHead(404).end(),
      );
    });
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
    app = await startApp({ CORS_ORIGINS: origin });
    base = await listen(app);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await stopApp(app);
    await new Promise((resolve) => pages?.close(resolve));
  });

  it('reads a streamed completion: the event stream carries the CORS and security headers', async () => {
    const page = await browser.newPage();
    await page.goto(`${origin}/`);
    const answer = await page.evaluate(async (api) => {
      const response = await fetch(`${api}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'Q:12+34=', stream: true, seed: 1, max_tokens: 4 }),
      });
      return {
        status: response.status,
        type: response.headers.get('content-type'),
        text: await response.text(),
      };
    }, base);
    assert.equal(answer.status, 200);
    assert.match(answer.type ?? '', /^text\/event-stream/);
    assert.match(answer.text, /"object":"text_completion"/);
    assert.match(answer.text, /data: \[DONE\]\n\n$/);
    await page.close();
    const stream = await fetch(`${base}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin },
      body: JSON.stringify({ prompt: 'Q:1+2=', stream: true, seed: 1, max_tokens: 2 }),
    });
    assert.equal(stream.headers.get('access-control-allow-origin'), origin);
    assert.equal(stream.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(stream.headers.get('cache-control'), 'no-cache');
    await stream.text();
  });

  it('runs the openai SDK in the page: its x-stainless headers pass the preflight, whole and streamed', async () => {
    const page = await browser.newPage();
    await page.goto(`${origin}/`);
    const answers = await page.evaluate(async (api) => {
      const sdk = '/openai/index.mjs';
      const { default: OpenAI } = await import(sdk);
      const client = new OpenAI({
        baseURL: `${api}/v1`,
        apiKey: 'unused',
        maxRetries: 0,
        dangerouslyAllowBrowser: true,
      });
      const request = {
        model: 'arithmetic-teacher',
        messages: [{ role: 'user', content: '12+34' }],
        temperature: 0,
      };
      const whole = await client.chat.completions.create(request);
      let streamed = '';
      for await (const chunk of await client.chat.completions.create({ ...request, stream: true })) {
        streamed += chunk.choices[0]?.delta.content ?? '';
      }
      return [whole.choices[0].message.content, streamed];
    }, base);
    const greedy = (
      await app.inject({
        method: 'POST',
        url: '/v1/completions',
        payload: { prompt: 'Q:12+34=', temperature: 0 },
      })
    ).json();
    assert.deepEqual(answers, [greedy.choices[0].text, greedy.choices[0].text]);
    await page.close();
  });

  it("follows a job's event stream with EventSource to its final state, and is told to stop there", async () => {
    const submitted = await app.inject({ method: 'POST', url: '/v1/jobs', payload: spiralJob() });
    assert.equal(submitted.statusCode, 202);
    const page = await browser.newPage();
    await page.goto(`${origin}/`);
    // The page does not close the EventSource: after the stream ends, the browser reconnects on its own,
    // and only the server's answer to that (204) stops it.
    const events = await page.evaluate(
      (url) =>
        new Promise<string[]>((resolve, reject) => {
          const seen: string[] = [];
          const source = new EventSource(url);
          for (const name of ['snapshot', 'progress', 'completed', 'failed']) {
            source.addEventListener(name, () => seen.push(name));
          }
          source.onerror = () => {
            if (source.readyState === EventSource.CLOSED) resolve(seen);
          };
          setTimeout(() => {
            source.close();
            reject(new Error(`still reconnecting after [${seen.join(', ')}]`));
          }, 15_000);
        }),
      `${base}/v1/jobs/${submitted.json().id}/events`,
    );
    assert.equal(events[0], 'snapshot');
    // One stream: its final event once, then the browser's reconnection was answered 204 and it stopped.
    assert.deepEqual(
      events.filter((name) => name === 'snapshot' || name === 'completed'),
      ['snapshot', 'completed'],
    );
    await page.close();
  });
});

describe('pages in headless Chromium under the CSP', () => {
  const prefix = uniquePrefix();
  let app: FastifyInstance;
  let browser: Browser;
  let base: string;
  before(async () => {
    app = await appWith({ REDIS_URL, REDIS_PREFIX: prefix, ADMIN_API_KEYS: `ops:${ADMIN}` });
    await queueAnswers(app);
    base = await listen(app);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await stopApp(app);
    await deleteKeys(prefix);
  });

  it('/docs renders every operation of the API, with no CSP violation and no request leaving the origin', async () => {
    const page = await browser.newPage();
    const seen = watchPage(page, base);
    await page.goto(`${base}/docs/`);
    await page.waitForSelector('.opblock-summary-path', { timeout: 20_000 });
    const operations = await page.locator('.opblock').count();
    const openapi = (await app.inject('/openapi.json')).json();
    const expected = Object.values(openapi.paths as Record<string, object>).reduce(
      (sum: number, item) => sum + Object.keys(item).length,
      0,
    );
    assert.equal(operations, expected);
    assert.deepEqual(seen, NOTHING_WRONG);
    await page.close();
  });

  it('the queue dashboard renders its queues for an admin, with no CSP violation and no web fonts fetched', async () => {
    const context = await browser.newContext({ httpCredentials: { username: 'ops', password: ADMIN } });
    const page = await context.newPage();
    const seen = watchPage(page, base);
    await page.goto(`${base}/admin/queues`);
    await page.getByText('onnx.batch-infer').first().waitFor({ timeout: 20_000 });
    assert.deepEqual(seen, NOTHING_WRONG);
    await context.close();
  });
});
