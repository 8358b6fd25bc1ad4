// Image generation through the API: reproducible under a seed, valid 28×28 PNGs, the requested classes
// recognised by the shipped classifier, the flow-matching baseline served alongside, the grid for browsers,
// the meanflow.generate job with its artifacts, and every bad input answered 4xx naming the field.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { assertLive, startApp, stopApp } from './helpers/app.js';
import { decodeGreyPng } from './helpers/png.js';
import { waitFor } from './helpers/wait.js';

/**
 * Class accuracy of 1-NFE MeanFlow samples as judged by the shipped classifier: 0.956 on 5 000 samples in
 * PyTorch (training/evaluate_meanflow.py, docs/meanflow.md). With 200 samples the standard error is about
 * 0.015, so 0.85 is about seven standard errors below.
 */
const ACCURACY_BAR = 0.85;

interface Sample {
  class: number;
  class_name: string;
  png?: string;
  data?: number[];
}

describe('MeanFlow generation', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await startApp();
  });
  after(() => stopApp(app));

  const samples = (body: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: '/v1/meanflow/samples', payload: body });

  it('returns the same bytes for the same seed, and different ones for another', async () => {
    const body = { n: 4, classes: [0, 1, 7, 9], seed: 123 };
    const first = (await samples(body)).json();
    const again = (await samples(body)).json();
    const other = (await samples({ ...body, seed: 124 })).json();
    assert.deepEqual(
      first.samples.map((s: Sample) => s.png),
      again.samples.map((s: Sample) => s.png),
    );
    assert.notDeepEqual(
      first.samples.map((s: Sample) => s.png),
      other.samples.map((s: Sample) => s.png),
    );
    assert.equal(first.seed, 123);
    assert.equal(first.nfe, 1);
    assert.equal(first.model.name, 'meanflow-fmnist');
    assert.match(first.model.sha256, /^[0-9a-f]{64}$/);
    assert.equal(first.decoder.name, 'fmnist-ae-decoder');
  });

  it('answers valid 28×28 PNGs, and raw intensities in [0, 1] that match them', async () => {
    const png = (await samples({ n: 2, classes: 3, seed: 5 })).json();
    const raw = (await samples({ n: 2, classes: 3, seed: 5, format: 'raw' })).json();
    for (const [index, sample] of (png.samples as Sample[]).entries()) {
      assert.equal(sample.class, 3);
      assert.equal(sample.class_name, 'Dress');
      const image = decodeGreyPng(Buffer.from(sample.png as string, 'base64'));
      assert.equal(image.width, 28);
      assert.equal(image.height, 28);
      const data = raw.samples[index].data as number[];
      assert.equal(data.length, 784);
      assert.ok(data.every((v) => v >= 0 && v <= 1));
      assert.deepEqual(
        [...image.pixels],
        data.map((v) => Math.round(v * 255)),
      );
    }
  });

  it('draws random classes from the seed when none are given, and generates a seed when absent', async () => {
    const a = (await samples({ n: 16, seed: 9 })).json();
    const b = (await samples({ n: 16, seed: 9 })).json();
    assert.deepEqual(
      a.samples.map((s: Sample) => s.class),
      b.samples.map((s: Sample) => s.class),
    );
    assert.ok(new Set(a.samples.map((s: Sample) => s.class)).size > 1);
    const unseeded = (await samples({ n: 1 })).json();
    assert.ok(Number.isInteger(unseeded.seed));
  });

  it('makes 1-NFE samples the shipped classifier recognises as the requested class', async () => {
    const classes = Array.from({ length: 200 }, (_, i) => i % 10);
    const generated = (await samples({ n: 200, classes, seed: 2026, format: 'raw' })).json();
    const images = (generated.samples as Sample[]).flatMap((s) => s.data as number[]);
    const judged = await app.inject({
      method: 'POST',
      url: '/v2/models/fmnist-classifier/infer',
      payload: {
        inputs: [{ name: 'image', shape: [200, 1, 28, 28], datatype: 'FP32', data: images }],
        outputs: [{ name: 'logits' }],
      },
    });
    assert.equal(judged.statusCode, 200, judged.body);
    const logits = judged.json().outputs[0].data as number[];
    let correct = 0;
    classes.forEach((cls, i) => {
      const row = logits.slice(i * 10, i * 10 + 10);
      if (row.indexOf(Math.max(...row)) === cls) correct++;
    });
    const accuracy = correct / classes.length;
    assert.ok(accuracy >= ACCURACY_BAR, `class accuracy ${accuracy} < ${ACCURACY_BAR}`);
  });

  it('serves 2 NFE for MeanFlow and 1 … 64 Euler steps for the flow-matching baseline', async () => {
    const two = (await samples({ n: 2, classes: 1, steps: 2, seed: 1 })).json();
    assert.equal(two.nfe, 2);
    const fm = await samples({ model: 'flowmatching-fmnist', n: 2, classes: 1, steps: 32, seed: 1 });
    assert.equal(fm.statusCode, 200, fm.body);
    assert.equal(fm.json().model.name, 'flowmatching-fmnist');
    assert.equal(fm.json().nfe, 32);
  });

  it('serves a PNG grid a browser can open', async () => {
    const response = await app.inject('/v1/meanflow/grid.png?classes=0,7&n=3&seed=4');
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-type'], 'image/png');
    const grid = decodeGreyPng(response.rawPayload);
    assert.equal(grid.width, 3 * 29 + 1);
    assert.equal(grid.height, 2 * 29 + 1);
    const same = await app.inject('/v1/meanflow/grid.png?classes=0,7&n=3&seed=4');
    assert.deepEqual(same.rawPayload, response.rawPayload);
  });

  const bad: Array<[string, Record<string, unknown>, number, string]> = [
    ['n of 0', { n: 0 }, 400, '/body/n'],
    ['n over 256', { n: 257 }, 400, '/body/n'],
    ['an unknown class', { n: 2, classes: [1, 10] }, 400, '/body/classes/1'],
    ['one class out of range', { n: 2, classes: 12 }, 400, '/body/classes'],
    ['a class list of the wrong length', { n: 3, classes: [1, 2] }, 400, '/body/classes'],
    ['3 steps for MeanFlow', { n: 1, steps: 3 }, 400, '/body/steps'],
    ['65 steps', { model: 'flowmatching-fmnist', n: 1, steps: 65 }, 400, '/body/steps'],
    ['a fractional seed', { n: 1, seed: 1.5 }, 400, '/body/seed'],
    ['a string seed', { n: 1, seed: '7' }, 400, '/body/seed'],
    ['an unknown format', { n: 1, format: 'jpeg' }, 400, '/body/format'],
    ['an unknown field', { n: 1, guidance: 3 }, 400, '/body/guidance'],
  ];
  for (const [name, body, status, path] of bad) {
    it(`answers ${status} naming ${path} for ${name}`, async () => {
      const response = await samples(body);
      assert.equal(response.statusCode, status, response.body);
      const paths = (response.json().errors ?? []).map((e: { path: string }) => e.path);
      assert.ok(paths.includes(path), `${path} in ${JSON.stringify(paths)}`);
      await assertLive(app);
    });
  }

  it('answers 422 for a model that is not a generator and 404 for an unknown one', async () => {
    const notGenerator = await samples({ model: 'spiral-mlp', n: 1 });
    assert.equal(notGenerator.statusCode, 422);
    assert.match(notGenerator.json().detail, /not an image generator/);
    assert.equal((await samples({ model: 'nope', n: 1 })).statusCode, 404);
    assert.equal((await app.inject('/v1/meanflow/grid.png?model=spiral-mlp')).statusCode, 422);
    assert.equal((await app.inject('/v1/meanflow/grid.png?classes=0,99')).statusCode, 400);
    await assertLive(app);
  });

  it('cancels a large meanflow.generate job between chunks', async () => {
    const submitted = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { type: 'meanflow.generate', seed: 8, params: { n: 50_000 } },
    });
    assert.equal(submitted.statusCode, 202, submitted.body);
    const { id } = submitted.json();
    await waitFor('progress', async () => (await app.inject(`/v1/jobs/${id}`)).json().progress.fraction > 0);
    assert.equal((await app.inject({ method: 'DELETE', url: `/v1/jobs/${id}` })).statusCode, 200);
    const stopped = await waitFor('the job to stop', async () => {
      const job = (await app.inject(`/v1/jobs/${id}`)).json();
      return ['completed', 'failed', 'cancelled'].includes(job.state) ? job : undefined;
    });
    assert.equal(stopped.state, 'cancelled');
    assert.ok(stopped.progress.fraction < 1);
    assert.deepEqual(stopped.artifacts, []);
  });

  it('runs meanflow.generate as a job: the same images as the route, as .npy and a contact sheet', async () => {
    const submitted = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { type: 'meanflow.generate', seed: 77, params: { n: 300, classes: 4, steps: 1 } },
    });
    assert.equal(submitted.statusCode, 202, submitted.body);
    const { id } = submitted.json();
    const done = await waitFor('the job', async () => {
      const job = (await app.inject(`/v1/jobs/${id}`)).json();
      return ['completed', 'failed'].includes(job.state) ? job : undefined;
    });
    assert.equal(done.state, 'completed', done.error);
    const npy = (await app.inject(`/v1/jobs/${id}/artifacts/samples.npy`)).rawPayload;
    const headerLength = npy.readUInt16LE(8);
    assert.match(npy.toString('latin1', 10, 10 + headerLength), /'shape': \(300, 28, 28\)/);
    const pixels = npy.subarray(10 + headerLength);
    assert.equal(pixels.length, 300 * 784);
    // The first images are what the route makes from the same seed and classes — up to one grey level, since
    // the job computes them in a batch of 256 and a row's float result may depend on its batch.
    const route = (await samples({ n: 2, classes: 4, seed: 77 })).json();
    const first = decodeGreyPng(Buffer.from(route.samples[0].png, 'base64'));
    const worst = first.pixels.reduce(
      (max, value, i) => Math.max(max, Math.abs(value - (pixels[i] as number))),
      0,
    );
    assert.ok(worst <= 1, `largest pixel difference ${worst}`);
    const sheet = await app.inject(`/v1/jobs/${id}/artifacts/contact-sheet.png`);
    assert.equal(sheet.headers['content-type'], 'image/png');
    assert.equal(decodeGreyPng(sheet.rawPayload).width, 10 * 29 + 1);
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { type: 'meanflow.generate', params: { n: 10, classes: 11 } },
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().errors[0].path, '/body/params/classes');
  });
});
