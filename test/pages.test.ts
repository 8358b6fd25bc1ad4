// The pages for people, in a real browser (Debian's Chromium through playwright-core): a job's page follows
// its progress live and shows its plot once written, the job list links to it, the MeanFlow page draws a
// labelled grid of the classes picked, params too large to show are a link that serves them; with API keys the browser is asked for one (Basic) and the pages'
// own API calls and event stream go through with it. No request leaves the server, and no CSP violation.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { decodePng } from '../src/lib/png-decode.js';
import { listen, startApp, stopApp } from './helpers/app.js';
import { launchChromium, NOTHING_WRONG, watchPage } from './helpers/chromium.js';

const KEY = 'page-key-0123456789abcdef';

/** A minimax job of several seconds: progress all along, a convergence plot at the end. */
const LONG_JOB = {
  type: 'minimax.mfl',
  params: {
    objective: { name: 'mm1d' },
    algorithm: { name: 'mfl-da' },
    particles: 2000,
    steps: 40_000,
    report_every: 2000,
  },
  seed: 1,
};

async function submit(base: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(`${base}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(LONG_JOB),
  });
  const job = (await response.json()) as { id: string };
  assert.equal(response.status, 202, JSON.stringify(job));
  return job.id;
}

const progressValue = (page: Page) =>
  page.locator('#progress').evaluate((element) => (element as HTMLProgressElement).value);

/** Follows the job on its page until it completes: the progress moves, then the plot loads. */
async function watchJobPage(page: Page, base: string, id: string): Promise<void> {
  await page.goto(`${base}/jobs/${id}`);
  await page.waitForFunction(() => Number(document.querySelector('progress')?.value) > 0, undefined, {
    timeout: 60_000,
  });
  const first = await progressValue(page);
  await page.waitForFunction(
    (before) => {
      const now = Number(document.querySelector('progress')?.value);
      return now > before || document.querySelector('#state')?.textContent === 'completed';
    },
    first,
    { timeout: 60_000 },
  );
  const later = await progressValue(page);
  assert.ok(later > first, `the progress bar moved while the job ran (${first} → ${later})`);
  await page.waitForFunction(
    () => ((document.querySelector('#plots img') as HTMLImageElement | null)?.naturalWidth ?? 0) > 0,
    undefined,
    { timeout: 120_000 },
  );
  assert.equal(await page.locator('#state').textContent(), 'completed');
  const plot = page.locator('#plots img');
  assert.equal(await plot.getAttribute('src'), `/v1/jobs/${id}/artifacts/convergence.svg`);
  assert.ok((await plot.evaluate((image) => (image as HTMLImageElement).naturalWidth)) > 300);
  const artifacts = await page.locator('#artifacts a').allTextContents();
  assert.deepEqual(artifacts.sort(), ['convergence.svg', 'minimax.json']);
  assert.match((await page.locator('#params').textContent()) ?? '', /"particles": 2000/);
}

describe('browser pages', () => {
  let app: FastifyInstance;
  let browser: Browser;
  let base: string;
  before(async () => {
    app = await startApp();
    base = await listen(app);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await stopApp(app);
  });

  it('GET / sends a person to /docs', async () => {
    const response = await fetch(`${base}/`, { redirect: 'manual' });
    assert.equal(response.status, 302);
    assert.equal(response.headers.get('location'), '/docs');
  });

  it("a job's page shows its progress live, then its plot and artifacts, all from this server", async () => {
    const id = await submit(base);
    const page = await browser.newPage();
    const seen = watchPage(page, base);
    await watchJobPage(page, base, id);
    assert.deepEqual(seen, NOTHING_WRONG);
    await page.close();
  });

  it('the job list links every recent job to its page', async () => {
    const page = await browser.newPage();
    const seen = watchPage(page, base);
    await page.goto(`${base}/jobs`);
    const link = page.locator('#jobs a').first();
    await link.waitFor();
    const id = await link.textContent();
    assert.match(id ?? '', /^minimax\.mfl_/);
    await link.click();
    await page.waitForSelector('#state');
    assert.equal(new URL(page.url()).pathname, `/jobs/${id}`);
    assert.deepEqual(seen, NOTHING_WRONG);
    await page.close();
  });

  it("a job's page links params too large to show, and the link serves them", async () => {
    const request = { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [0.3, -0.7] }] };
    const params = { model: 'spiral-mlp', requests: Array.from({ length: 1500 }, () => request) };
    const response = await fetch(`${base}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'onnx.batch-infer', params }),
    });
    assert.equal(response.status, 202);
    const { id } = (await response.json()) as { id: string };
    const page = await browser.newPage();
    const seen = watchPage(page, base);
    await page.goto(`${base}/jobs/${id}`);
    const link = page.locator('#params a');
    await link.waitFor();
    assert.match((await page.locator('#params').textContent()) ?? '', /^\d+ bytes, too many to show here/);
    const href = (await link.getAttribute('href')) as string;
    assert.equal(href, `/v1/jobs/${id}/params`);
    const requests = await page.evaluate(
      async (url) => (await (await fetch(url)).json()).requests.length,
      href,
    );
    assert.equal(requests, 1500);
    assert.deepEqual(seen, NOTHING_WRONG);
    await page.close();
  });

  it('the MeanFlow page draws a labelled grid of the classes picked', async () => {
    const page = await browser.newPage();
    const seen = watchPage(page, base);
    await page.goto(`${base}/meanflow`);
    await page.waitForSelector('#grid-form');
    const boxes = page.locator('#classes input[type=checkbox]');
    assert.equal(await boxes.count(), 10);
    for (let index = 2; index < 10; index++) await boxes.nth(index).uncheck();
    await page.fill('#n', '4');
    await page.fill('#seed', '3');
    const grid = page.waitForResponse((response) => response.url().includes('/v1/meanflow/grid.png'));
    await page.click('#draw');
    const response = await grid;
    assert.equal(response.status(), 200);
    const query = new URL(response.url()).searchParams;
    assert.deepEqual(Object.fromEntries(query), {
      model: 'meanflow-fmnist',
      classes: '0,1',
      n: '4',
      steps: '1',
      seed: '3',
      labels: 'true',
    });
    await page.waitForFunction(
      () => ((document.querySelector('#grid-image') as HTMLImageElement | null)?.naturalWidth ?? 0) > 0,
    );
    // Two rows of four 28-pixel tiles, 1 px apart, and the margin with the labels on the left.
    const png = decodePng(await response.body(), 4096);
    assert.equal(png.height, 2 * 29 + 1);
    assert.ok(png.width > 4 * 29 + 1 + 40, `width ${png.width}`);
    assert.deepEqual(seen, NOTHING_WRONG);
    await page.close();
  });
});

describe('browser pages with API keys', () => {
  let app: FastifyInstance;
  let browser: Browser;
  let base: string;
  before(async () => {
    app = await startApp({ API_KEYS: `web:${KEY}` });
    base = await listen(app);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await stopApp(app);
  });

  it('asks a browser for the key (Basic), and the page and its API calls work with it', async () => {
    const refused = await fetch(`${base}/jobs`);
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get('www-authenticate') ?? '', /^Basic realm="meanserve"/);
    const api = await fetch(`${base}/v1/jobs`);
    assert.match(
      api.headers.get('www-authenticate') ?? '',
      /^Bearer realm="meanserve", Basic realm="meanserve"/,
      'two challenges: Bearer for clients, Basic for browsers',
    );
    const id = await submit(base, { authorization: `Bearer ${KEY}` });
    const context = await browser.newContext({ httpCredentials: { username: 'me', password: KEY } });
    const page = await context.newPage();
    const seen = watchPage(page, base);
    await watchJobPage(page, base, id);
    assert.deepEqual(seen, NOTHING_WRONG);
    const wrong = await browser.newContext({ httpCredentials: { username: 'me', password: 'not-the-key' } });
    const denied = await (await wrong.newPage()).goto(`${base}/jobs/${id}`);
    assert.equal(denied?.status(), 401);
    await wrong.close();
    await context.close();
  });
});
