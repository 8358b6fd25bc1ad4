// BullMQ job records leave out large params without reading them: the data of a job submitted now starts
// with its seed, which is all a record needs from it. A job a previous version stored has its params first:
// its record reads the data whole, once, and shows it like any other; params() serves them either way.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { BullmqQueue } from '../src/jobs/backends/bullmq/bullmq-queue.js';
import { queueName } from '../src/jobs/backends/bullmq/bullmq-shared.js';
import { JOB_TYPE_NAMES } from '../src/jobs/catalog.js';
import { RECORD_PARAMS_MAX_BYTES } from '../src/schemas/jobs.js';
import { TEST_JOB_CONFIG } from './helpers/backends.js';
import { deleteKeys, REDIS_URL, uniquePrefix } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const TYPE = 'onnx.batch-infer';
const large = {
  model: 'spiral-mlp',
  requests: Array.from({ length: 4000 }, (_, i) => ({ id: `request-${i}` })),
};

describe('BullMQ job records with large params', () => {
  const prefix = uniquePrefix();
  let queue: BullmqQueue;
  let connection: Redis;
  let legacy: Queue;
  before(async () => {
    assert.ok(JSON.stringify(large).length > RECORD_PARAMS_MAX_BYTES);
    queue = new BullmqQueue(REDIS_URL, prefix, TEST_JOB_CONFIG, JOB_TYPE_NAMES, () => undefined);
    await waitFor('the queue to answer', () =>
      queue.ping().then(
        () => true,
        () => false,
      ),
    );
    connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    legacy = new Queue(queueName(TYPE), { connection, prefix });
  });
  after(async () => {
    await legacy.close();
    await queue.close();
    connection.disconnect();
    await deleteKeys(prefix);
  });

  const check = async (id: string, seed: number) => {
    const record = await queue.get(id);
    assert.equal(record?.state, 'queued');
    assert.equal(record?.seed, seed);
    assert.equal(record?.params, undefined);
    assert.ok((record?.paramsBytes ?? 0) >= JSON.stringify(large).length);
    assert.deepEqual(JSON.parse((await queue.params(id)) ?? 'null'), large);
    const listed = (await queue.list({ type: TYPE, limit: 10 })).find((job) => job.id === id);
    assert.equal(listed?.paramsBytes, record?.paramsBytes);
  };

  it('shows a job submitted now without reading its params', async () => {
    const { job } = await queue.submit({ type: TYPE, params: large, seed: 11, fingerprint: 'f' });
    await check(job.id, 11);
  });

  it('shows a job a previous version stored, params first', async () => {
    const id = `${TYPE}_${randomUUID()}`;
    await legacy.add(TYPE, { params: large, seed: 12, fingerprint: 'f' }, { jobId: id });
    await check(id, 12);
  });
});
