// One contract, two backends: the inline queue and BullMQ (really talking to Redis) must behave the same
// for submit, progress, results, artifacts, idempotency, listing, cancellation, failures and retries.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { ConflictError, NotFoundError } from '../src/errors.js';
import type { JobEvent, JobRecord, SubmitRequest } from '../src/jobs/job-record.js';
import type { JobQueue } from '../src/jobs/queue.js';
import { type JobState, RECORD_PARAMS_MAX_BYTES } from '../src/schemas/jobs.js';
import {
  type Backend,
  bullmqBackend,
  inlineBackend,
  modelsWithMissingFile,
  TEST_JOB_CONFIG,
} from './helpers/backends.js';
import { readParity } from './helpers/parity.js';
import { waitFor } from './helpers/wait.js';

const TYPE = 'onnx.batch-infer';

function request(params: Record<string, unknown>, extra: Partial<SubmitRequest> = {}): SubmitRequest {
  const fingerprint = createHash('sha256').update(JSON.stringify(params)).digest('hex');
  return { type: TYPE, params, seed: 1, fingerprint, ...extra };
}

function spiralParams(count: number) {
  const x = readParity('spiral-mlp').inputs.x as { data: number[] };
  return {
    model: 'spiral-mlp',
    requests: Array.from({ length: count }, (_, i) => ({
      id: `r${i}`,
      inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: x.data.slice(2 * i, 2 * i + 2) }],
      outputs: [{ name: 'label' }],
    })),
  };
}

/** About 0.25 s of compute per request (0.81 µs per Loop step): a job that is still running when cancelled. */
function slowParams(count: number) {
  return {
    model: 'iterated-map',
    requests: Array.from({ length: count }, () => ({
      inputs: [
        { name: 'x', shape: [1, 8], datatype: 'FP32', data: new Array(8).fill(0.1) },
        { name: 'steps', shape: [1], datatype: 'INT64', data: [300_000] },
      ],
    })),
  };
}

async function waitForState(queue: JobQueue, id: string, states: JobState[]): Promise<JobRecord> {
  return waitFor(`job ${id} to reach ${states.join('|')}`, async () => {
    const job = await queue.get(id);
    return job !== undefined && states.includes(job.state) ? job : undefined;
  });
}

const backends: Array<[string, (modelsDir: string, config?: typeof TEST_JOB_CONFIG) => Promise<Backend>]> = [
  ['inline', inlineBackend],
  ['bullmq', bullmqBackend],
];

for (const [name, make] of backends) {
  describe(`job queue contract: ${name}`, () => {
    let backend: Backend;
    let queue: JobQueue;
    let modelsDir: string;
    before(async () => {
      modelsDir = await modelsWithMissingFile();
      backend = await make(modelsDir);
      queue = backend.queue;
    });
    after(async () => {
      await backend?.close();
      await rm(modelsDir, { recursive: true, force: true });
    });

    it('runs a job to completion with its result, progress and artifact', async () => {
      const { job, created } = await queue.submit(request(spiralParams(3), { seed: 99 }));
      assert.equal(created, true);
      assert.ok(job.id.startsWith(`${TYPE}_`));
      assert.equal(job.state, 'queued');
      assert.equal(job.seed, 99);
      const done = await waitForState(queue, job.id, ['completed', 'failed']);
      assert.equal(done.state, 'completed', done.error);
      assert.equal(done.attempts, 1);
      assert.equal(done.progress.fraction, 1);
      assert.ok(done.startedAt && done.finishedAt && done.createdAt <= done.finishedAt);
      const result = done.result as {
        count: number;
        responses: Array<{ id: string; outputs: Array<{ data: number[] }> }>;
      };
      assert.equal(result.count, 3);
      const labels = readParity('spiral-mlp').outputs.label?.data as number[];
      assert.deepEqual(
        result.responses.map((r) => r.outputs[0]?.data[0]),
        labels.slice(0, 3),
      );
      assert.deepEqual(done.artifacts, ['responses.json']);
      const artifact = await queue.artifact(job.id, 'responses.json');
      assert.ok(artifact);
      assert.equal(artifact.contentType, 'application/json');
      assert.deepEqual(JSON.parse(Buffer.from(artifact.data).toString('utf8')), result.responses);
      assert.equal(await queue.artifact(job.id, 'other.json'), undefined);
    });

    it('delivers progress and the final record to subscribers', async () => {
      const { job } = await queue.submit(request(slowParams(4)));
      const events: JobEvent[] = [];
      const finished = new Promise<JobRecord>((resolve) => {
        void queue.subscribe(job.id, (event) => {
          events.push(event);
          if (event.kind === 'finished') resolve(event.job);
        });
      });
      const record = await finished;
      assert.equal(record.state, 'completed');
      const progress = events.filter((e) => e.kind === 'progress');
      assert.ok(progress.length >= 1, 'at least one progress event');
    });

    it('returns the same job for a repeated Idempotency-Key, and 409 for other params', async () => {
      const key = `key-${name}-${Date.now()}`;
      const first = await queue.submit(request(spiralParams(1), { idempotencyKey: key }));
      const again = await queue.submit(request(spiralParams(1), { idempotencyKey: key }));
      assert.equal(again.created, false);
      assert.equal(again.job.id, first.job.id);
      await assert.rejects(queue.submit(request(spiralParams(2), { idempotencyKey: key })), ConflictError);
      await waitForState(queue, first.job.id, ['completed']);
    });

    it('lists jobs newest first, filtered by type and state', async () => {
      const { job } = await queue.submit(request(spiralParams(1)));
      await waitForState(queue, job.id, ['completed']);
      const listed = await queue.list({ type: TYPE, state: 'completed', limit: 2 });
      assert.ok(listed.length >= 1 && listed.length <= 2);
      assert.ok(listed.every((j) => j.state === 'completed' && j.type === TYPE));
      const all = await queue.list({ limit: 100 });
      const times = all.map((j) => j.createdAt);
      assert.deepEqual(times, [...times].sort().reverse());
      assert.deepEqual(await queue.list({ type: TYPE, state: 'running', limit: 10 }), []);
    });

    it('shows params over 64 KiB by their size only, in lists and records; params() has them', async () => {
      const small = spiralParams(1);
      const large = { ...small, requests: Array.from({ length: 800 }, () => small.requests[0]) };
      const bytes = JSON.stringify(large).length;
      assert.ok(bytes > RECORD_PARAMS_MAX_BYTES);
      const [big, little] = [
        (await queue.submit(request(large))).job,
        (await queue.submit(request(small))).job,
      ];
      const listed = await queue.list({ type: TYPE, limit: 100 });
      const bigListed = listed.find((job) => job.id === big.id);
      const littleListed = listed.find((job) => job.id === little.id);
      assert.ok(bigListed && littleListed);
      assert.equal(bigListed.params, undefined);
      assert.ok(
        bigListed.paramsBytes !== undefined &&
          bigListed.paramsBytes >= bytes &&
          bigListed.paramsBytes < bytes + 200,
        `paramsBytes ${bigListed.paramsBytes} for ${bytes} bytes of params`,
      );
      assert.equal(bigListed.seed, 1);
      assert.deepEqual(littleListed.params, small);
      assert.equal(littleListed.paramsBytes, undefined);
      const record = await queue.get(big.id);
      assert.equal(record?.params, undefined);
      assert.equal(record?.paramsBytes, bigListed.paramsBytes);
      assert.deepEqual(JSON.parse((await queue.params(big.id)) ?? 'null'), large);
      assert.deepEqual((await queue.get(little.id))?.params, small);
      assert.equal(await queue.params('onnx.batch-infer_00000000-0000-0000-0000-000000000000'), undefined);
      await waitForState(queue, big.id, ['completed']);
    });

    it('cancels a running job between steps, and a queued one before it starts', async () => {
      const running = await queue.submit(request(slowParams(40)));
      const queued = await queue.submit(request(spiralParams(1)));
      await waitFor('progress on the running job', async () => {
        const job = await queue.get(running.job.id);
        return job !== undefined && job.state === 'running' && job.progress.fraction > 0;
      });
      const cancelledQueued = await queue.cancel(queued.job.id);
      assert.equal(cancelledQueued.state, 'cancelled');
      await queue.cancel(running.job.id);
      const stopped = await waitForState(queue, running.job.id, ['cancelled', 'completed', 'failed']);
      assert.equal(stopped.state, 'cancelled');
      assert.ok(stopped.progress.fraction < 1, 'stopped before the end');
      const never = await waitForState(queue, queued.job.id, ['cancelled', 'completed', 'failed']);
      assert.equal(never.state, 'cancelled');
      assert.equal(never.result, undefined);
      await assert.rejects(queue.cancel(running.job.id), ConflictError);
    });

    it('stops a job cancelled during a step before the next one', async () => {
      // Each step holds the job process for ~0.25 s. Cancelled during the second of three, the job must see
      // the cancel message when that step ends (not one step later, which would let it complete).
      const { job } = await queue.submit(request(slowParams(3)));
      await waitFor(
        'the first step to finish',
        async () => (await queue.get(job.id))?.progress.fraction ?? 0,
      );
      await queue.cancel(job.id);
      const stopped = await waitForState(queue, job.id, ['cancelled', 'completed', 'failed']);
      assert.equal(stopped.state, 'cancelled');
    });

    it('refuses to cancel a finished job (409) or an unknown one (404)', async () => {
      const { job } = await queue.submit(request(spiralParams(1)));
      await waitForState(queue, job.id, ['completed']);
      await assert.rejects(queue.cancel(job.id), ConflictError);
      await assert.rejects(queue.cancel(`${TYPE}_00000000-0000-0000-0000-000000000000`), NotFoundError);
      assert.equal(await queue.get(`${TYPE}_00000000-0000-0000-0000-000000000000`), undefined);
      assert.equal(await queue.get('no-such-type_1'), undefined);
    });

    it('fails a job whose params cannot work at once, without retrying', async () => {
      const { job } = await queue.submit(
        request({ model: 'not-served', requests: spiralParams(1).requests }),
      );
      const failed = await waitForState(queue, job.id, ['failed', 'completed']);
      assert.equal(failed.state, 'failed');
      assert.match(failed.error ?? '', /not-served/);
      assert.equal(failed.attempts, 1);
    });

    it('retries a transient failure with backoff, then fails with the message', async () => {
      const { job } = await queue.submit(
        request({ model: 'missing-file', requests: spiralParams(1).requests }),
      );
      const failed = await waitForState(queue, job.id, ['failed', 'completed']);
      assert.equal(failed.state, 'failed');
      assert.match(failed.error ?? '', /ENOENT|no such file/);
      assert.equal(failed.attempts, TEST_JOB_CONFIG.attempts);
    });

    it('removes finished jobs beyond the retention count', async () => {
      const small = await make(modelsDir, { ...TEST_JOB_CONFIG, retentionCount: 1 });
      try {
        const first = await small.queue.submit(request(spiralParams(1)));
        await waitForState(small.queue, first.job.id, ['completed']);
        const second = await small.queue.submit(request(spiralParams(1)));
        await waitForState(small.queue, second.job.id, ['completed']);
        await waitFor(
          'the first job to be removed',
          async () => (await small.queue.get(first.job.id)) === undefined,
        );
        assert.equal(await small.queue.artifact(first.job.id, 'responses.json'), undefined);
        assert.equal((await small.queue.get(second.job.id))?.state, 'completed');
      } finally {
        await small.close();
      }
    });

    it('keeps every acknowledged job across a restart: finished ones with their artifacts, queued ones run, a running one run again', async () => {
      const key = `restart-${name}-${Date.now()}`;
      const finished = await queue.submit(request(spiralParams(2), { idempotencyKey: key }));
      const done = await waitForState(queue, finished.job.id, ['completed']);
      const artifact = await queue.artifact(done.id, 'responses.json');
      const running = await queue.submit(request(slowParams(8)));
      const queued = [
        await queue.submit(request(spiralParams(1))),
        await queue.submit(request(spiralParams(3))),
      ];
      await waitFor(
        'the slow job to run',
        async () => (await queue.get(running.job.id))?.state === 'running',
      );
      // The inline queue stops its running job at the deadline (it runs again after the start); BullMQ's
      // worker lets it finish (a worker that dies instead is bullmq-workers.test.ts's business).
      await backend.restart(name === 'inline' ? 100 : 20_000);
      queue = backend.queue;
      const kept = await queue.get(done.id);
      assert.equal(kept?.state, 'completed');
      assert.deepEqual(kept?.result, done.result);
      assert.deepEqual(await queue.artifact(done.id, 'responses.json'), artifact);
      const again = await queue.submit(request(spiralParams(2), { idempotencyKey: key }));
      assert.deepEqual([again.created, again.job.id], [false, done.id]);
      for (const { job } of [running, ...queued]) {
        const final = await waitForState(queue, job.id, ['completed', 'failed', 'cancelled']);
        assert.equal(final.state, 'completed', `${job.id}: ${final.error}`);
      }
      const rerun = (await queue.get(running.job.id)) as JobRecord;
      assert.equal(rerun.attempts, name === 'inline' ? 2 : 1);
    });

    it('counts jobs by type and state', async () => {
      const counts = await queue.counts();
      const count = (state: JobState) =>
        counts.find((c) => c.type === TYPE && c.state === state)?.count ?? -1;
      assert.ok(count('completed') >= 4);
      assert.ok(count('cancelled') >= 2);
      assert.ok(count('failed') >= 2);
      assert.equal(count('running'), 0);
      await queue.ping();
    });
  });
}
