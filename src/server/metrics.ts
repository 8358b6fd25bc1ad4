// Prometheus metrics, one registry per app (tests build many apps in one process). Names follow the
// serving systems we measure against: request counts and latency by route, inference latency and batch
// size per model, queue depth, jobs by type and state, event-loop lag (from the default Node metrics).
import client from 'prom-client';
import type { JobCount } from '../jobs/job-record.js';
import type { JobQueue } from '../jobs/queue.js';
import type { InferenceObserver, ModelRegistry } from '../models/registry.js';
import type { CollectionStore } from '../retrieval/collections/collection-store.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class Metrics implements InferenceObserver {
  readonly registry = new client.Registry();
  private readonly httpRequests = new client.Counter({
    name: 'meanserve_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly httpDuration = new client.Histogram({
    name: 'meanserve_http_request_duration_seconds',
    help: 'HTTP request latency, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly inferenceDuration = new client.Histogram({
    name: 'meanserve_inference_duration_seconds',
    help: 'Inference latency per model, queueing and batching included.',
    labelNames: ['model', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly batchSize = new client.Histogram({
    name: 'meanserve_inference_batch_size',
    help: 'Rows per batch sent to a model by the micro-batcher.',
    labelNames: ['model'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [this.registry],
  });
  readonly sseStreams = new client.Gauge({
    name: 'meanserve_sse_streams',
    help: 'Server-sent event streams open now.',
    registers: [this.registry],
  });

  readonly generatedTokens = new client.Counter({
    name: 'meanserve_generated_tokens_total',
    help: 'Completion tokens sampled, by teacher model and mode (plain or antidistillation).',
    labelNames: ['model', 'mode'] as const,
    registers: [this.registry],
  });
  readonly activeGenerations = new client.Gauge({
    name: 'meanserve_generations_active',
    help: 'Completion requests generating now.',
    registers: [this.registry],
  });

  private readonly keyRequests = new client.Counter({
    name: 'meanserve_api_key_requests_total',
    help: 'HTTP requests answered, by API key name (never the key) and status code.',
    labelNames: ['key', 'status'] as const,
    registers: [this.registry],
  });
  private readonly rejections = new client.Counter({
    name: 'meanserve_requests_rejected_total',
    help: 'Requests refused before any work: unauthorized, rate-limited or overloaded, by API key name.',
    labelNames: ['reason', 'key'] as const,
    registers: [this.registry],
  });

  constructor() {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'meanserve_' });
  }

  /** Gauges read at scrape time from the registry, the queue and the collections. */
  watch(models: ModelRegistry, queue: JobQueue, collections: CollectionStore): void {
    new client.Gauge({
      name: 'meanserve_collection_points',
      help: 'Points stored per vector collection.',
      labelNames: ['collection'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const collection of collections.list())
          this.set({ collection: collection.config.name }, collection.count);
      },
    });
    new client.Gauge({
      name: 'meanserve_collections_damaged',
      help: 'Collections whose file failed its checksums and are not served until recovered or deleted.',
      registers: [this.registry],
      collect() {
        this.set(collections.damagedList().length);
      },
    });
    new client.Counter({
      name: 'meanserve_decoder_steps_total',
      help: 'Language-model decoding steps run (one per model per token; antidistillation runs three).',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(models.decoderSteps());
      },
    });
    new client.Gauge({
      name: 'meanserve_inference_queue_depth',
      help: 'Inference requests waiting in micro-batchers and for an inference thread.',
      registers: [this.registry],
      collect() {
        this.set(models.queueDepth());
      },
    });
    // The three job gauges read one snapshot per scrape; Prometheus collects them concurrently.
    let snapshot: { at: number; counts: Promise<JobCount[] | undefined> } | undefined;
    const readCounts = () => {
      if (snapshot === undefined || Date.now() - snapshot.at > 250) {
        snapshot = { at: Date.now(), counts: queue.counts().catch(() => undefined) };
      }
      return snapshot.counts;
    };
    new client.Gauge({
      name: 'meanserve_jobs',
      help: 'Jobs by type and state (finished jobs until retention removes them).',
      labelNames: ['type', 'state'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const { type, state, count } of (await readCounts()) ?? []) this.set({ type, state }, count);
      },
    });
    new client.Gauge({
      name: 'meanserve_job_queue_depth',
      help: 'Jobs waiting to start, by type.',
      labelNames: ['type'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const { type, state, count } of (await readCounts()) ?? [])
          if (state === 'queued') this.set({ type }, count);
      },
    });
    new client.Gauge({
      name: 'meanserve_job_queue_up',
      help: '1 when the job queue answered the scrape, 0 otherwise (its job gauges are then empty).',
      registers: [this.registry],
      async collect() {
        this.set((await readCounts()) === undefined ? 0 : 1);
      },
    });
  }

  httpRequest(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.httpRequests.inc(labels);
    this.httpDuration.observe(labels, seconds);
  }

  /** Counts a request under the name of the key it presented. */
  keyRequest(key: string, status: number): void {
    this.keyRequests.inc({ key, status: String(status) });
  }

  rejected(reason: 'unauthorized' | 'rate-limited' | 'overloaded' | 'queue-full', key = 'none'): void {
    this.rejections.inc({ reason, key });
  }

  inference(model: string, seconds: number, ok: boolean): void {
    this.inferenceDuration.observe({ model, outcome: ok ? 'ok' : 'error' }, seconds);
  }

  batch(model: string, rows: number): void {
    this.batchSize.observe({ model }, rows);
  }
}
