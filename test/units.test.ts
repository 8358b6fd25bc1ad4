// Small pieces tested on their own: tensor decoding, the micro-batcher, cancellation, configuration parsing
// and the canonical JSON behind idempotency fingerprints.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { OverloadedError } from '../src/errors.js';
import { Cancellation, everyAborted } from '../src/lib/abortable.js';
import { joinQueue } from '../src/lib/abortable-queue.js';
import { canonicalJson } from '../src/lib/canonical-json.js';
import { MicroBatcher } from '../src/models/micro-batcher.js';
import { decodeData, encodeData, type Tensor, TensorError } from '../src/models/tensor.js';

describe('tensor decoding', () => {
  it('reads flat and nested data into the same row-major array', () => {
    const flat = decodeData('FP32', [2, 3], [1, 2, 3, 4, 5, 6], '/d');
    const nested = decodeData(
      'FP32',
      [2, 3],
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      '/d',
    );
    assert.deepEqual([...flat], [1, 2, 3, 4, 5, 6]);
    assert.deepEqual([...nested], [...flat]);
  });

  it('maps every datatype to its typed array and back', () => {
    const cases: Array<[Tensor['datatype'], unknown[], unknown[]]> = [
      ['FP64', [0.1, -2], [0.1, -2]],
      ['INT32', [-(2 ** 31), 2 ** 31 - 1], [-(2 ** 31), 2 ** 31 - 1]],
      ['INT64', [2 ** 53 - 1, -3], [2 ** 53 - 1, -3]],
      ['UINT8', [0, 255], [0, 255]],
      ['BOOL', [true, false], [true, false]],
    ];
    for (const [datatype, input, output] of cases) {
      const data = decodeData(datatype, [2], input, '/d');
      assert.deepEqual(encodeData({ datatype, shape: [2], data }), output, datatype);
    }
    assert.ok(decodeData('INT64', [1], [5], '/d') instanceof BigInt64Array);
  });

  it('refuses values the type cannot hold, naming the element', () => {
    const bad: Array<[Tensor['datatype'], unknown[]]> = [
      ['FP32', [1, Number.POSITIVE_INFINITY]],
      ['FP32', [1, 1e39]],
      ['INT32', [1, 2 ** 31]],
      ['INT32', [1, 0.5]],
      ['INT64', [1, 2 ** 53]],
      ['UINT8', [1, 256]],
      ['BOOL', [true, 1]],
      ['FP64', [1, null]],
    ];
    for (const [datatype, data] of bad) {
      assert.throws(
        () => decodeData(datatype, [2], data, '/d'),
        (error: unknown) => error instanceof TensorError && error.path === '/d/1',
        `${datatype} ${JSON.stringify(data)}`,
      );
    }
  });

  it('refuses ragged nesting, wrong counts and absurd shapes before allocating', () => {
    assert.throws(() => decodeData('FP32', [2, 2], [[1, 2], [3]], '/d'), /expected 2 elements at depth 1/);
    assert.throws(() => decodeData('FP32', [2, 2], [1, 2, 3], '/d'), /needs 4 elements/);
    assert.throws(() => decodeData('FP32', [2 ** 31, 2 ** 31], [], '/d'), /more than/);
    assert.throws(() => decodeData('FP32', [1.5], [1], '/d'), /non-negative integer/);
  });
});

describe('micro-batcher', () => {
  const row = (value: number): Record<string, Tensor> => ({
    x: { datatype: 'FP32', shape: [1, 2], data: new Float32Array([value, value]) },
  });
  // A "model" that doubles its input and records the batch sizes it saw.
  const doubling = (sizes: number[]) => async (inputs: Record<string, Tensor>) => {
    const x = inputs.x as Tensor;
    sizes.push(x.shape[0] as number);
    const y = { datatype: 'FP32' as const, shape: x.shape, data: (x.data as Float32Array).map((v) => v * 2) };
    return { outputs: { y }, computeSeconds: sizes.length };
  };

  it('batches concurrent requests and gives each its own rows', async () => {
    const sizes: number[] = [];
    const batcher = new MicroBatcher('m', doubling(sizes), {
      maxBatchSize: 4,
      maxWaitMs: 50,
      queueLimit: 100,
      maxConcurrentBatches: 1,
    });
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((v) => batcher.submit(row(v), 1)));
    assert.deepEqual(
      results.map((r) => [...((r.outputs.y as Tensor).data as Float32Array)]),
      [1, 2, 3, 4, 5, 6].map((v) => [2 * v, 2 * v]),
    );
    // A full batch of 4 goes at once; the remaining 2 wait for company, then go together.
    assert.deepEqual(sizes, [4, 2]);
    // Each request carries the compute time of the batch it ran in (here: the batch's number).
    assert.deepEqual(
      results.map((r) => r.computeSeconds),
      [1, 1, 1, 1, 2, 2],
    );
  });

  it('refuses a request when its queue is full', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const batcher = new MicroBatcher(
      'm',
      async (inputs) => {
        await gate;
        return { outputs: inputs, computeSeconds: 0 };
      },
      { maxBatchSize: 1, maxWaitMs: 0, queueLimit: 2, maxConcurrentBatches: 1 },
    );
    const running = batcher.submit(row(1), 1); // taken by the model at once
    const waiting = [batcher.submit(row(2), 1), batcher.submit(row(3), 1)];
    await assert.rejects(batcher.submit(row(4), 1), OverloadedError);
    release();
    await Promise.all([running, ...waiting]);
  });
});

describe('cancellation', () => {
  it('calls each listener still registered once, with the reason, and its signal agrees', () => {
    const cancellation = new Cancellation();
    const calls: string[] = [];
    const removed = () => calls.push('removed');
    cancellation.addEventListener('abort', () => calls.push('kept'));
    cancellation.addEventListener('abort', removed);
    cancellation.removeEventListener('abort', removed);
    const early = cancellation.signal;
    cancellation.abort(new Error('gone'));
    cancellation.abort(new Error('again'));
    cancellation.addEventListener('abort', () => calls.push('late'));
    assert.deepEqual(calls, ['kept']);
    assert.equal((cancellation.reason as Error).message, 'gone');
    assert.equal(early.aborted, true);
    assert.equal((early.reason as Error).message, 'gone');
    const late = new Cancellation();
    late.abort('why');
    assert.equal(late.signal.aborted, true);
    assert.equal(late.signal.reason, 'why');
  });

  it('takes a waiter out of its queue, as an AbortSignal does', async () => {
    const queue: Array<{ resolve(value: number): void; reject(error: Error): void }> = [];
    const cancellation = new Cancellation();
    const waiting = joinQueue<number, (typeof queue)[number]>(queue, cancellation, (settle) => settle);
    assert.equal(queue.length, 1);
    cancellation.abort(new Error('client left'));
    assert.equal(queue.length, 0);
    await assert.rejects(waiting, /client left/);
  });

  it('aborts a batch only when every request in it has', () => {
    const [first, second] = [new Cancellation(), new Cancellation()];
    const batch = everyAborted([first, second]) as Cancellation;
    first.abort('one');
    assert.equal(batch.aborted, false);
    second.abort('two');
    assert.equal(batch.aborted, true);
    assert.equal(everyAborted([first, undefined]), undefined);
  });
});

describe('configuration', () => {
  it('has defaults that run on a laptop', () => {
    const config = loadConfig({});
    assert.equal(config.port, 8080);
    assert.equal(config.redisUrl, undefined);
    assert.deepEqual(config.executionProviders, ['cpu']);
    assert.ok(config.inferenceThreads >= 1);
  });

  it('refuses malformed values with the variable named', () => {
    assert.throws(
      () => loadConfig({ PORT: 'eighty' }),
      (e: unknown) => e instanceof ConfigError && /PORT/.test(e.message),
    );
    assert.throws(() => loadConfig({ ORT_EXECUTION_PROVIDERS: 'cuda,tpu' }), /unknown provider 'tpu'/);
    assert.throws(() => loadConfig({ REDIS_PREFIX: 'a:b' }), /REDIS_PREFIX/);
    assert.throws(() => loadConfig({ INFERENCE_THREADS: '0' }), /INFERENCE_THREADS/);
  });
});

describe('canonical JSON', () => {
  it('is the same for objects that differ only in key order', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 1 }], c: 0 } }),
      canonicalJson({ a: { c: 0, d: [1, { e: 1, f: 2 }] }, b: 1 }),
    );
    assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
  });
});
