// Inference on the event loop for batches that compute in less time than the hop to a thread
// (src/models/inline-inference.ts): a small model's batches run there and answer the same bits as the
// threads; a batch that takes longer never does; INLINE_INFERENCE_MAX_US=0 turns it off.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { startApp, stopApp } from './helpers/app.js';
import { sample } from './helpers/prometheus.js';

const INLINE = 'meanserve_inference_inline_executions_total';

function spiralRows(rows: number) {
  const data = Array.from({ length: rows }, (_, row) => [Math.sin(row) * 0.7, Math.cos(row * 1.3) * 0.4]);
  return { inputs: [{ name: 'x', shape: [rows, 2], datatype: 'FP32', data }] };
}

async function infer(app: FastifyInstance, model: string, body: Record<string, unknown>) {
  const response = await app.inject({ method: 'POST', url: `/v2/models/${model}/infer`, payload: body });
  assert.equal(response.statusCode, 200, response.body);
  return response.json().outputs as Array<{ name: string; data: number[] }>;
}

async function inlineExecutions(app: FastifyInstance, model: string): Promise<number> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  return sample(text, INLINE, { model, version: '1' });
}

describe('inline inference', () => {
  let inline: FastifyInstance;
  let threads: FastifyInstance;
  before(async () => {
    inline = await startApp();
    threads = await startApp({ INLINE_INFERENCE_MAX_US: '0' });
  });
  after(async () => {
    await stopApp(inline);
    await stopApp(threads);
  });

  it('runs small batches of a small model on the event loop, with the bits the threads compute', async () => {
    for (const rows of [1, 3, 17, 64]) {
      assert.deepEqual(
        await infer(inline, 'spiral-mlp', spiralRows(rows)),
        await infer(threads, 'spiral-mlp', spiralRows(rows)),
        `${rows} rows`,
      );
    }
    // spiral-mlp computes a row in ~40 µs: at least its 1-row batches qualify on any machine this runs on.
    assert.ok((await inlineExecutions(inline, 'spiral-mlp')) >= 1);
    assert.equal(await inlineExecutions(threads, 'spiral-mlp'), 0);
  });

  it('sends a batch that computes for longer to the threads', async () => {
    // 256 classifier images are ~25 ms of compute: far past the 250 µs bound whatever the machine.
    const image = {
      name: 'image',
      shape: [256, 1, 28, 28],
      datatype: 'FP32',
      data: new Array(256 * 784).fill(0.5),
    };
    const before = await inlineExecutions(inline, 'fmnist-classifier');
    const [logits] = await infer(inline, 'fmnist-classifier', {
      inputs: [image],
      outputs: [{ name: 'logits' }],
    });
    assert.equal(logits?.data.length, 2560);
    assert.equal(await inlineExecutions(inline, 'fmnist-classifier'), before);
  });
});
