// Both job-queue backends, built the same way for the shared contract tests. The BullMQ one talks to the
// local Redis under a unique prefix with an in-process JobWorker; the inline one runs in this process.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { JobConfig } from '../../src/config.js';
import { BullmqQueue } from '../../src/jobs/backends/bullmq/bullmq-queue.js';
import { JobWorker } from '../../src/jobs/backends/bullmq/bullmq-worker.js';
import { InlineQueue } from '../../src/jobs/backends/inline/inline-queue.js';
import { JOB_TYPE_NAMES } from '../../src/jobs/catalog.js';
import type { JobQueue } from '../../src/jobs/queue.js';
import { MODELS_DIR } from './app.js';
import { deleteKeys, REDIS_URL, uniquePrefix } from './redis.js';

export interface Backend {
  queue: JobQueue;
  /**
   * Stops the backend as a server stops (running jobs get `deadlineMs` to finish) and starts it again on the
   * same storage: the same DATA_DIR, or the same Redis prefix. `queue` is the new one afterwards.
   */
  restart(deadlineMs: number): Promise<void>;
  close(): Promise<void>;
}

export const TEST_JOB_CONFIG: JobConfig = {
  concurrency: 1,
  attempts: 2,
  backoffMs: 20,
  retentionSeconds: 3600,
  retentionCount: 100,
  lockDurationMs: 30_000,
  stalledIntervalMs: 30_000,
  artifactLimit: 16 * 1024 * 1024,
  cancelGraceMs: 5000,
};

/**
 * A copy of models/ whose manifest also lists `missing-file`, a model whose file is absent: the processor's
 * read fails with an ordinary (retryable) error, as a worker with a broken disk would.
 */
export async function modelsWithMissingFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'meanserve-models-'));
  await cp(MODELS_DIR, dir, { recursive: true });
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  manifest.models.push({ ...manifest.models[0], name: 'missing-file', file: 'missing-file/model.onnx' });
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

function modelsContext(modelsDir: string) {
  return {
    modelsDir,
    modelRepositoryDir: '/nonexistent',
    executionProviders: ['cpu'],
    intraOpThreads: 1,
    fashionMnistDir: '/nonexistent',
  };
}

const silent = pino({ level: 'silent' });

export async function inlineBackend(modelsDir: string, config = TEST_JOB_CONFIG): Promise<Backend> {
  const dataDir = await mkdtemp(join(tmpdir(), 'meanserve-data-'));
  const open = () => InlineQueue.open(config, dataDir, modelsContext(modelsDir), JOB_TYPE_NAMES, silent);
  const backend: Backend = {
    queue: await open(),
    restart: async (deadlineMs) => {
      await backend.queue.close(deadlineMs);
      backend.queue = await open();
    },
    close: async () => {
      await backend.queue.close(1000);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return backend;
}

export async function bullmqBackend(modelsDir: string, config = TEST_JOB_CONFIG): Promise<Backend> {
  const prefix = uniquePrefix();
  const errors: Error[] = [];
  const open = async () => {
    const queue = new BullmqQueue(REDIS_URL, prefix, config, JOB_TYPE_NAMES, (error) => errors.push(error));
    const worker = new JobWorker({
      redisUrl: REDIS_URL,
      prefix,
      jobs: config,
      types: JOB_TYPE_NAMES,
      models: modelsContext(modelsDir),
      // TEST_WORKER_LOG=info shows the worker's job log when a contract test needs explaining.
      log: pino({ level: process.env.TEST_WORKER_LOG ?? 'silent' }),
    });
    await worker.ready();
    // The producer connects in the background; the contract starts once it answers.
    for (let tries = 0; ; tries++) {
      try {
        await queue.ping();
        break;
      } catch (error) {
        if (tries > 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    return { queue, worker };
  };
  let current = await open();
  const backend: Backend = {
    queue: current.queue,
    restart: async (deadlineMs) => {
      await current.worker.close(deadlineMs);
      await current.queue.close();
      current = await open();
      backend.queue = current.queue;
    },
    close: async () => {
      await current.worker.close(1000);
      await current.queue.close();
      await deleteKeys(prefix);
    },
  };
  return backend;
}
