// `npm run worker`: a BullMQ worker process. Needs REDIS_URL; run any number of them on any machines that
// reach the same Redis. SIGTERM lets running jobs finish until SHUTDOWN_TIMEOUT_MS and exits 0; jobs still
// running at the deadline are left to another worker (exit 1). As in the API, a promise rejection nobody
// handled is logged and the worker works on; an uncaught exception stops it (exit 1) for its supervisor to
// restart, its running jobs recovered by the stalled-job check.
import { pino } from 'pino';
import { loadConfig, modelAccess } from '../config.js';
import { JobWorker } from './backends/bullmq/bullmq-worker.js';
import { JOB_TYPE_NAMES } from './catalog.js';
import { WorkerMetrics } from './worker-metrics.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = pino({ level: config.logLevel, base: { role: 'worker', pid: process.pid } });
  if (config.redisUrl === undefined) {
    throw new Error(
      'REDIS_URL is not set: a worker takes jobs from Redis (without it, npm start runs jobs inline)',
    );
  }
  const metrics = new WorkerMetrics();
  const worker = new JobWorker({
    redisUrl: config.redisUrl,
    prefix: config.redisPrefix,
    jobs: config.jobs,
    types: JOB_TYPE_NAMES,
    models: modelAccess(config),
    log,
    onTokens: (tokens) => metrics.tokens(tokens),
  });
  const stop = async (signal: string, exitCode = 0) => {
    log.info({ signal, deadlineMs: config.shutdownTimeoutMs }, 'worker shutting down');
    const finished = await worker.close(config.shutdownTimeoutMs);
    await metrics.close();
    if (finished) {
      log.info('worker stopped');
      process.exit(exitCode);
    }
    log.warn('deadline passed with jobs running; they will be recovered by another worker');
    process.exit(1);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  process.on('unhandledRejection', (reason) =>
    log.error({ err: reason }, 'unhandled promise rejection; working on'),
  );
  process.once('uncaughtException', (error) => {
    log.fatal({ err: error }, 'uncaught exception; stopping');
    void stop('uncaughtException', 1);
  });
  await worker.ready();
  const metricsPort =
    config.workerMetricsPort === undefined
      ? undefined
      : await metrics.listen(config.workerMetricsPort, config.host);
  log.info({ prefix: config.redisPrefix, concurrency: config.jobs.concurrency, metricsPort }, 'worker ready');
}

main().catch((error: Error) => {
  console.error(`meanserve worker failed to start: ${error.message}`);
  process.exit(1);
});
