// Prometheus metrics, one registry per app (tests build many apps in one process). Names follow the
// serving systems we measure against: request counts and latency by route; per model, Triton's success and
// failure counts, queue and compute durations and batch sizes; for the language models, vLLM's token
// counters, time to first token, inter-token latency and sequences waiting and running; queue depth, jobs
// by type and state, event-loop lag (from the default Node metrics).
import type { Server } from 'node:http';
import client from 'prom-client';
import type { JobCount } from '../jobs/job-record.js';
import type { JobTokens } from '../jobs/processor.js';
import type { JobQueue } from '../jobs/queue.js';
import { BoundHistogram } from '../lib/bound-histogram.js';
import { METRIC_PREFIX, registerDefaultMetrics, tokenCounters } from '../lib/prometheus.js';
import type { CompletionCounters } from '../models/lm/completion-service.js';
import type { GenerationLabels, TokenKind } from '../models/lm/generation-observer.js';
import type { InferenceObserver, InferenceOutcome, ModelLabels, ModelRegistry } from '../models/registry.js';
import type { RepositorySync } from '../models/repository/repository-sync.js';
import { memoryOf } from '../retrieval/collections/collection.js';
import type { CollectionStore } from '../retrieval/collections/collection-store.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** One decoding step takes about a millisecond here; antidistillation's three take a few. */
const TOKEN_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

const MODEL = ['model', 'version'] as const;
const GENERATION = ['model', 'mode'] as const;

export class Metrics implements InferenceObserver, CompletionCounters {
  readonly registry = new client.Registry();
  private readonly counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new client.Counter<L>({ name: `${METRIC_PREFIX}${name}`, help, labelNames, registers: [this.registry] });
  private readonly gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new client.Gauge<L>({ name: `${METRIC_PREFIX}${name}`, help, labelNames, registers: [this.registry] });
  private readonly histogram = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: number[],
  ) => new BoundHistogram<L>(`${METRIC_PREFIX}${name}`, help, labelNames, buckets, this.registry);

  private readonly httpRequests = this.counter(
    'http_requests_total',
    'HTTP requests answered, by method, route pattern and status code.',
    ['method', 'route', 'status'],
  );
  private readonly httpDuration = this.histogram(
    'http_request_duration_seconds',
    'HTTP request latency, by method, route pattern and status code.',
    ['method', 'route', 'status'],
    LATENCY_BUCKETS,
  );

  private readonly droppedConnections = this.counter(
    'http_connections_dropped_total',
    'Client connections closed as they arrived because MAX_CONNECTIONS were open.',
  );

  private readonly inferenceDuration = this.histogram(
    'inference_duration_seconds',
    'Inference request latency per model, queueing and batching included, by outcome.',
    [...MODEL, 'outcome'],
    LATENCY_BUCKETS,
  );
  private readonly inferenceSuccess = this.counter(
    'inference_request_success_total',
    'Inference requests answered, per model (Triton: nv_inference_request_success).',
    MODEL,
  );
  private readonly inferenceFailure = this.counter(
    'inference_request_failure_total',
    'Inference requests not answered, per model, by reason: rejected (queue full), cancelled (client gone or deadline), failed (Triton: nv_inference_request_failure).',
    [...MODEL, 'reason'],
  );
  private readonly queueDuration = this.histogram(
    'inference_queue_duration_seconds',
    'Time an answered inference request waited in its micro-batcher and for an inference thread.',
    MODEL,
    LATENCY_BUCKETS,
  );
  private readonly computeDuration = this.histogram(
    'inference_compute_duration_seconds',
    'Time the model ran for an answered inference request (the whole batch it ran in).',
    MODEL,
    LATENCY_BUCKETS,
  );
  private readonly batchSize = this.histogram(
    'inference_batch_size',
    'Rows per execution of a model: _count is executions (Triton: nv_inference_exec_count), _sum rows inferred (nv_inference_count).',
    MODEL,
    [1, 2, 4, 8, 16, 32, 64, 128, 256],
  );
  private readonly inlineExecutions = this.counter(
    'inference_inline_executions_total',
    'Executions run on the event loop, the model having computed such batches in less than INLINE_INFERENCE_MAX_US.',
    MODEL,
  );
  readonly sseStreams = this.gauge('sse_streams', 'Server-sent event streams open now.');

  private readonly tokenCounters = tokenCounters(this.registry);
  private readonly timeToFirstToken = this.histogram(
    'time_to_first_token_seconds',
    "From the start of a completion's decoding to each sequence's first token, by teacher model and mode.",
    GENERATION,
    [...TOKEN_BUCKETS, 5, 10],
  );
  private readonly interTokenLatency = this.histogram(
    'inter_token_latency_seconds',
    'Between two tokens of one sequence, by teacher model and mode.',
    GENERATION,
    TOKEN_BUCKETS,
  );
  private readonly sequenceGauges = {
    waiting: this.gauge(
      'sequences_waiting',
      'Sequences of admitted completions waiting for decoders, by teacher model and mode.',
      GENERATION,
    ),
    running: this.gauge(
      'sequences_running',
      'Sequences decoding now, by teacher model and mode.',
      GENERATION,
    ),
  };
  private readonly activeGenerations = this.gauge(
    'generations_active',
    'Completion requests generating now.',
  );
  private readonly waitingGenerations = this.gauge(
    'generations_waiting',
    'Completion requests waiting for a generation slot (GENERATION_QUEUE_LIMIT at most).',
  );

  private readonly keyRequests = this.counter(
    'api_key_requests_total',
    'HTTP requests answered, by API key name (never the key) and status code.',
    ['key', 'status'],
  );
  private readonly rejections = this.counter(
    'requests_rejected_total',
    'Requests refused before any work: unauthorized, rate-limited or overloaded, by API key name.',
    ['reason', 'key'],
  );

  constructor() {
    registerDefaultMetrics(this.registry);
  }

  /** Gauges read at scrape time from the registry, the queue, the collections and the model repository. */
  watch(
    models: ModelRegistry,
    queue: JobQueue,
    collections: CollectionStore,
    repository: RepositorySync,
  ): void {
    new client.Gauge({
      name: 'meanserve_collection_points',
      help: 'Points stored per vector collection.',
      labelNames: ['collection'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        if (!collections.loaded) return;
        for (const collection of collections.list())
          this.set({ collection: collection.config.name }, collection.count);
      },
    });
    new client.Gauge({
      name: 'meanserve_collections_sequence',
      help: 'The last collection change this process reflects (compare replicas to see how far one lags).',
      registers: [this.registry],
      collect() {
        this.set(collections.sequence);
      },
    });
    new client.Gauge({
      name: 'meanserve_collections_memory_bytes',
      help: 'The memory the vector collections take, estimated as COLLECTIONS_MEMORY_BYTES counts it.',
      registers: [this.registry],
      collect() {
        if (!collections.loaded) return;
        this.set(memoryOf(collections.list()));
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
    new client.Gauge({
      name: 'meanserve_model_repository_damaged',
      help: 'Uploaded model versions whose entry.json is damaged on disk: each stays loaded where it was, and the repository index says why.',
      registers: [this.registry],
      collect() {
        this.set(repository.damaged);
      },
    });
    new client.Counter({
      name: 'meanserve_decoder_steps_total',
      help: 'Decoding steps on the decoder threads (each: the next token of every running sequence of a model that asked, and the prompts that joined).',
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

  /** Open client connections, read at scrape time: beside MAX_CONNECTIONS and process_max_fds. */
  watchConnections(server: Server): void {
    new client.Gauge({
      name: 'meanserve_http_connections_open',
      help: 'Client connections open now.',
      registers: [this.registry],
      async collect() {
        const open = await new Promise<number>((resolve) =>
          server.getConnections((error, count) => resolve(error ? 0 : count)),
        );
        this.set(open);
      },
    });
  }

  connectionDropped(): void {
    this.droppedConnections.inc();
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

  inference(
    model: ModelLabels,
    report: { outcome: InferenceOutcome; rows: number; seconds: number; computeSeconds?: number },
  ): void {
    this.inferenceDuration.observe({ ...model, outcome: report.outcome }, report.seconds);
    if (report.outcome !== 'success') {
      this.inferenceFailure.inc({ ...model, reason: report.outcome });
      return;
    }
    this.inferenceSuccess.inc(model);
    const compute = Math.min(report.computeSeconds ?? 0, report.seconds);
    this.computeDuration.observe(model, compute);
    this.queueDuration.observe(model, report.seconds - compute);
  }

  execution(model: ModelLabels, rows: number, inline: boolean): void {
    this.batchSize.observe(model, rows);
    if (inline) this.inlineExecutions.inc(model);
  }

  tokens(labels: GenerationLabels, kind: TokenKind, count: number): void {
    this.tokenCounters[kind].inc({ ...labels }, count);
  }

  /** Completions generating now: +1 when one starts, −1 when it ends. */
  active(change: 1 | -1): void {
    this.activeGenerations.inc(change);
  }

  /** Completions waiting for a slot: +1 when one joins the queue, −1 when it leaves. */
  queued(change: 1 | -1): void {
    this.waitingGenerations.inc(change);
  }

  /** Tokens an antidistill.traces job decoded (inline jobs; a BullMQ worker counts its own). */
  jobTokens(tokens: JobTokens): void {
    this.tokens(tokens.labels, tokens.kind, tokens.count);
  }

  sequences(labels: GenerationLabels, state: 'waiting' | 'running', change: number): void {
    this.sequenceGauges[state].inc({ ...labels }, change);
  }

  firstToken(labels: GenerationLabels, seconds: number): void {
    this.timeToFirstToken.observe(labels, seconds);
  }

  interToken(labels: GenerationLabels, seconds: number): void {
    this.interTokenLatency.observe(labels, seconds);
  }
}
