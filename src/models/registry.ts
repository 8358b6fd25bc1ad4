// The model registry: manifest → sha256-verified files → sessions in the inference threads, with state,
// active execution provider and micro-batchers per model. Routes reach it as `fastify.models`.

import type { Config } from '../config.js';
import { NotFoundError, OverloadedError, UnavailableError } from '../errors.js';
import type { Abortable } from '../lib/abortable.js';
import type { Log } from '../lib/log.js';
import { type ManifestEntry, SHARED_POOL } from '../schemas/manifest.js';
import type { Isolation } from './inference-isolation.js';
import type { Computed, ModelLoadRequest } from './inference-messages.js';
import { InferencePool } from './inference-pool.js';
import { InlineInference } from './inline-inference.js';
import { decodeSpecOf } from './lm/batched-decoder.js';
import type { Decoder } from './lm/decoder.js';
import type { DecoderLoadRequest } from './lm/decoder-messages.js';
import { DecoderPool } from './lm/decoder-pool.js';
import { newestFirst, readManifest, readVerifiedDecoder, readVerifiedModel } from './manifest.js';
import { MicroBatcher, type RunBatch } from './micro-batcher.js';
import type { Tensor } from './tensor.js';

export type ModelState = 'loading' | 'ready' | 'failed' | 'unloading';

export interface LoadedModel {
  entry: ManifestEntry;
  key: string;
  state: ModelState;
  /** Why the model failed to load. */
  reason?: string;
  /** Execution provider that holds the session. */
  provider?: string;
  /** Providers tried first that could not take the model. */
  providerFailures: string[];
  batcher?: MicroBatcher;
  /** The inference pool whose threads hold the model's session (manifest `pool`). */
  pool: string;
  /** When this server registered the model, Unix seconds (what OpenAI clients read as `created`). */
  created: number;
  /** Baked into the manifest, or uploaded to the model repository (and loadable and unloadable). */
  source: 'manifest' | 'repository';
  /** Requests inside infer(): an unloading model releases its session once they have finished. */
  inFlight: number;
  /** Called when inFlight drops to 0 while the model is unloading. */
  drained?: () => void;
}

/** The parts of the configuration the registry reads. */
export type RegistryOptions = Pick<
  Config,
  | 'modelsDir'
  | 'executionProviders'
  | 'inferenceThreads'
  | 'intraOpThreads'
  | 'batchMaxWaitMs'
  | 'inlineInferenceMaxUs'
  | 'inferenceQueueLimit'
  | 'decoderThreads'
  | 'uploadedModels'
>;

/** How an inference request ended, as Triton sorts them: answered, refused when full, left, or failed. */
export type InferenceOutcome = 'success' | 'rejected' | 'cancelled' | 'failed';

/** A model as metrics name it. */
export interface ModelLabels {
  model: string;
  version: string;
}

export interface InferenceObserver {
  /**
   * One request: its outcome and rows, its whole time, and (when it ran) the compute time of the execution
   * it ran in; the rest is time queued (micro-batcher and inference threads).
   */
  inference(
    model: ModelLabels,
    report: { outcome: InferenceOutcome; rows: number; seconds: number; computeSeconds?: number },
  ): void;
  /**
   * One run of a model of `rows` rows: a micro-batch or an unbatched request, on an inference thread or
   * `inline` on the event loop.
   */
  execution(model: ModelLabels, rows: number, inline: boolean): void;
}

export class ModelRegistry {
  private readonly models = new Map<string, LoadedModel>();
  /** Each name's versions, newest first: get() runs on every request, so it must not sort. */
  private readonly versionsByName = new Map<string, LoadedModel[]>();
  /** The shared pool and one per model of its own cost (a bulkhead), by name. */
  private readonly pools = new Map<string, InferencePool>();
  private decoderPool: DecoderPool | undefined;
  private readonly inline: InlineInference;
  private loading: Promise<void> | undefined;
  /**
   * Set once load() has read the manifest and registered its models as loading. Before that the registry
   * holds no model whose loading readiness could report, and /health/ready answered 200 while the
   * manifest was still being read: a probe in that window sent traffic to a server that had no model.
   */
  private manifestRead = false;
  private manifestError: string | undefined;

  constructor(
    private readonly options: RegistryOptions,
    private readonly log: Log,
    private readonly observer?: InferenceObserver,
  ) {
    this.inline = new InlineInference(options.inlineInferenceMaxUs / 1e6);
  }

  /** Loads every model in the background; `loaded()` resolves when each has succeeded or failed. */
  start(): Promise<void> {
    this.loading ??= this.load().catch((error: Error) => {
      this.manifestError = error.message;
      this.log.error({ err: error }, 'model manifest could not be loaded');
    });
    return this.loading;
  }

  loaded(): Promise<void> {
    return this.start();
  }

  /** Reasons the registry is not ready; empty when every model is loaded. */
  readiness(): string[] {
    if (this.manifestError !== undefined) return [`manifest: ${this.manifestError}`];
    if (this.loading === undefined) return ['models: not started'];
    if (!this.manifestRead) return ['models: reading the manifest'];
    const reasons: string[] = [];
    for (const model of this.models.values()) {
      // An uploaded model that fails is the uploader's to fix (the repository index says why), not a
      // reason to take the replica out of its load balancer.
      if (model.source === 'repository') continue;
      if (model.state === 'loading') reasons.push(`model ${model.key}: loading`);
      if (model.state === 'failed') reasons.push(`model ${model.key}: failed: ${model.reason}`);
    }
    return reasons;
  }

  list(): LoadedModel[] {
    return [...this.models.values()].sort(
      (a, b) => a.entry.name.localeCompare(b.entry.name) || newestFirst(a.entry, b.entry),
    );
  }

  /** The named model at `version`, or its newest version; 404 when either is unknown. */
  get(name: string, version?: string): LoadedModel {
    const versions = this.versionsByName.get(name) ?? [];
    if (versions.length === 0 && this.loading !== undefined && !this.manifestRead) {
      // Not yet known is not unknown: a client told 404 during start-up would give up on the model.
      throw new UnavailableError('models are loading: the manifest is being read', 1);
    }
    if (versions.length === 0)
      throw new NotFoundError(`model '${name}' is not served here; see GET /v1/models`);
    if (version === undefined) return versions[0] as LoadedModel;
    const match = versions.find((model) => model.entry.version === version);
    if (match === undefined) {
      throw new NotFoundError(
        `model '${name}' has no version '${version}' (versions: ${versions.map((m) => m.entry.version).join(', ')})`,
      );
    }
    return match;
  }

  /**
   * Runs validated inputs through the model; `rows` is the batch size when the model batches. `exclusive`
   * keeps the request out of micro-batches: a seeded generator must get the same numbers whatever else is
   * in flight, and the floating-point result of a row can depend on the batch it is computed in. `signal`
   * takes a request that still waits out of its queue when it aborts.
   */
  async infer(
    model: LoadedModel,
    inputs: Record<string, Tensor>,
    outputs: string[],
    rows: number,
    options: { exclusive?: boolean; signal?: Abortable } = {},
  ): Promise<Record<string, Tensor>> {
    const pool = this.pools.get(model.pool);
    if (model.state !== 'ready' || pool === undefined) {
      throw new UnavailableError(
        `model ${model.key} is ${model.state}${model.reason ? `: ${model.reason}` : ''}`,
      );
    }
    model.inFlight++;
    try {
      return await this.run(model, pool, inputs, outputs, rows, options);
    } finally {
      model.inFlight--;
      if (model.inFlight === 0) model.drained?.();
    }
  }

  private async run(
    model: LoadedModel,
    pool: InferencePool,
    inputs: Record<string, Tensor>,
    outputs: string[],
    rows: number,
    options: { exclusive?: boolean; signal?: Abortable },
  ): Promise<Record<string, Tensor>> {
    const started = process.hrtime.bigint();
    const labels = { model: model.entry.name, version: model.entry.version };
    const report = (outcome: InferenceOutcome, computeSeconds?: number) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.observer?.inference(labels, {
        outcome,
        rows,
        seconds,
        ...(computeSeconds === undefined ? {} : { computeSeconds }),
      });
    };
    try {
      let computed: Computed;
      if (model.batcher !== undefined && options.exclusive !== true) {
        // A batch computes every output; the request's selection is applied afterwards.
        computed = await model.batcher.submit(inputs, rows, options.signal);
      } else {
        if (pool.pending >= this.options.inferenceQueueLimit) {
          throw new OverloadedError(
            `${pool.pending} inference requests already waiting for pool ${model.pool}`,
          );
        }
        computed = await pool.run(model.key, inputs, outputs, options.signal);
        this.observer?.execution(labels, rows, false);
      }
      report('success', computed.computeSeconds);
      return Object.fromEntries(outputs.map((name) => [name, computed.outputs[name] as Tensor]));
    } catch (error) {
      report(
        error instanceof OverloadedError ? 'rejected' : options.signal?.aborted ? 'cancelled' : 'failed',
      );
      throw error;
    }
  }

  /** True when the name belongs to a model of the manifest (which uploads may not take). */
  isBakedIn(name: string): boolean {
    return [...this.models.values()].some(
      (model) => model.source === 'manifest' && model.entry.name === name,
    );
  }

  /**
   * Loads an uploaded model without a restart, into an inference process of its own: what an uploaded graph
   * costs can follow its inputs' values (a Loop counted by an input, a buffer sized by one), so a request
   * that runs for an hour holds that model's process, not the shared pool's threads (a bulkhead, as the
   * manifest's `pool` gives iterated-map), its process is killed once the request has gone
   * (inference-pool.ts), and its memory is bounded (UPLOADED_MODEL_MEMORY_MB). All or nothing: on failure
   * nothing stays registered and the reason is thrown.
   */
  async addModel(entry: ManifestEntry, bytes: Uint8Array): Promise<LoadedModel> {
    await this.loaded();
    const key = `${entry.name}@${entry.version}`;
    const existing = this.models.get(key);
    if (existing !== undefined && existing.state !== 'unloading') return existing;
    const model: LoadedModel = {
      entry,
      key,
      state: 'loading',
      providerFailures: [],
      pool: `repository:${key}`,
      created: Math.floor(Date.now() / 1000),
      source: 'repository',
      inFlight: 0,
    };
    this.models.set(key, model);
    const pool = this.newPool(model.pool, 1, this.uploadIsolation());
    const load = pool.start([
      {
        key,
        model: bytes,
        providers: this.options.executionProviders,
        intraOpThreads: this.options.intraOpThreads,
        memoryArena: false,
        inputs: entry.inputs,
        outputs: entry.outputs,
      },
    ]);
    const result = await load.then(
      ([loaded]) => loaded,
      (error: Error): undefined => {
        this.log.error({ err: error, model: key }, 'inference process failed');
        return undefined;
      },
    );
    if (result?.provider === undefined) {
      await pool.close();
      this.pools.delete(model.pool);
      this.models.delete(key);
      throw new Error(result?.error ?? 'its inference process did not start');
    }
    await this.ready(model, bytes, result.provider, result.failures);
    this.addVersion(model);
    return model;
  }

  /**
   * Unloads an uploaded model: new requests no longer find it at once, requests already inside finish (a
   * run that outlives its request's deadline is killed then: inference-pool.ts), then its process is
   * stopped.
   */
  async removeModel(key: string): Promise<void> {
    const model = this.models.get(key);
    if (model === undefined || model.source !== 'repository' || model.state === 'unloading') return;
    const versions = (this.versionsByName.get(model.entry.name) ?? []).filter((other) => other !== model);
    if (versions.length > 0) this.versionsByName.set(model.entry.name, versions);
    else this.versionsByName.delete(model.entry.name);
    model.state = 'unloading';
    if (model.inFlight > 0) await new Promise<void>((resolve) => (model.drained = resolve));
    await this.pools.get(model.pool)?.close();
    this.pools.delete(model.pool);
    this.models.delete(key);
    this.log.info({ model: key }, 'model unloaded');
  }

  /**
   * Opens one decoding sequence per model (each a ready language model), on different decoder threads as
   * far as they go. The caller closes every decoder.
   */
  openDecoders(entries: ManifestEntry[]): Decoder[] {
    this.checkDecodable(entries);
    return (this.decoderPool as DecoderPool).open(entries.map((entry) => `${entry.name}@${entry.version}`));
  }

  /** 503 unless every entry is a loaded language model in the decoder threads. */
  checkDecodable(entries: ManifestEntry[]): void {
    for (const entry of entries) {
      const model = this.get(entry.name, entry.version);
      if (model.state !== 'ready' || this.decoderPool === undefined) {
        throw new UnavailableError(
          `model ${model.key} is ${model.state}${model.reason ? `: ${model.reason}` : ''}`,
        );
      }
    }
  }

  /** Decoding steps run since start, over every language model. */
  decoderSteps(): number {
    return this.decoderPool?.steps ?? 0;
  }

  /** Requests waiting in micro-batch queues and the inference pools. */
  queueDepth(): number {
    let depth = 0;
    for (const pool of this.pools.values()) depth += pool.pending;
    for (const model of this.models.values()) depth += model.batcher?.depth ?? 0;
    return depth;
  }

  async close(): Promise<void> {
    await this.loading;
    await Promise.all([...this.pools.values()].map((pool) => pool.close()));
    await this.decoderPool?.close();
    await this.inline.close();
  }

  private async load(): Promise<void> {
    const entries = await readManifest(this.options.modelsDir);
    // Every model is registered as loading before any file is read, so readiness lists them all.
    const models = entries.map((entry): LoadedModel => {
      const model: LoadedModel = {
        entry,
        key: `${entry.name}@${entry.version}`,
        state: 'loading',
        providerFailures: [],
        pool: entry.pool ?? SHARED_POOL,
        created: Math.floor(Date.now() / 1000),
        source: 'manifest',
        inFlight: 0,
      };
      this.models.set(model.key, model);
      this.addVersion(model);
      return model;
    });
    this.manifestRead = true;
    const requests: ModelLoadRequest[] = [];
    for (const model of models) {
      const { entry, key } = model;
      try {
        requests.push({
          key,
          model: await readVerifiedModel(this.options.modelsDir, entry),
          providers: this.options.executionProviders,
          intraOpThreads: this.options.intraOpThreads,
          memoryArena: true,
          inputs: entry.inputs,
          outputs: entry.outputs,
        });
      } catch (error) {
        this.fail(model, (error as Error).message);
      }
    }
    const results = await this.startPools(requests);
    await this.startDecoders(requests, results);
    const bytes = new Map(requests.map((request) => [request.key, request.model]));
    for (const result of results) {
      const model = this.models.get(result.key) as LoadedModel;
      if (result.error !== undefined) {
        this.fail(model, result.error);
        continue;
      }
      await this.ready(
        model,
        bytes.get(result.key) as Uint8Array,
        result.provider as string,
        result.failures,
      );
    }
  }

  private async ready(
    model: LoadedModel,
    bytes: Uint8Array,
    provider: string,
    failures: string[],
  ): Promise<void> {
    model.provider = provider;
    model.providerFailures = failures;
    if (failures.length > 0) {
      this.log.warn({ model: model.key, provider, failures }, 'execution provider fell back');
    }
    if (model.entry.max_batch_size > 0) {
      // The main thread's session is on the CPU: a model the threads run elsewhere would answer differently.
      // Never an uploaded model: calibrated on zeros, a graph whose cost follows its inputs' values looks
      // as cheap as any, and one request to it (the spin fixture) held the event loop 6.4 s.
      if (provider === 'cpu' && model.source === 'manifest') {
        const { inputs, max_batch_size: maxBatchSize } = model.entry;
        await this.inline.add(model.key, bytes, inputs, this.outputNames(model), maxBatchSize);
      }
      model.batcher = this.batcherFor(model);
    }
    // Ready only now: a request during the calibration above would have found no micro-batcher yet.
    model.state = 'ready';
    this.log.info({ model: model.key, provider }, 'model ready');
  }

  private addVersion(model: LoadedModel): void {
    const versions = [...(this.versionsByName.get(model.entry.name) ?? []), model];
    this.versionsByName.set(
      model.entry.name,
      versions.sort((a, b) => newestFirst(a.entry, b.entry)),
    );
  }

  /**
   * One pool per name in the manifest: the shared one with INFERENCE_THREADS threads, every other with one
   * thread of its own, each holding only its models. Resolves with every model's load result.
   */
  private async startPools(requests: ModelLoadRequest[]) {
    const byPool = new Map<string, ModelLoadRequest[]>([[SHARED_POOL, []]]);
    for (const request of requests) {
      const name = (this.models.get(request.key) as LoadedModel).pool;
      byPool.set(name, [...(byPool.get(name) ?? []), request]);
    }
    const loads = [...byPool].map(([name, members]) =>
      this.newPool(name, name === SHARED_POOL ? this.options.inferenceThreads : 1).start(members),
    );
    return (await Promise.all(loads)).flat();
  }

  private newPool(name: string, size: number, isolation?: Isolation): InferencePool {
    const pool = new InferencePool(
      size,
      (error) => this.log.error({ err: error, pool: name }, 'inference worker failed'),
      isolation,
    );
    this.pools.set(name, pool);
    return pool;
  }

  private uploadIsolation(): Isolation {
    const { memoryLimitBytes, cancelGraceMs } = this.options.uploadedModels;
    return { kind: 'process', dataLimitBytes: memoryLimitBytes, cancelGraceMs };
  }

  /** Language models also load their batched decoding graphs into the decoder threads. */
  private async startDecoders(requests: ModelLoadRequest[], results: { key: string; error?: string }[]) {
    const failed = new Set(
      results.filter((result) => result.error !== undefined).map((result) => result.key),
    );
    const decoders: DecoderLoadRequest[] = [];
    for (const request of requests) {
      const entry = this.models.get(request.key)?.entry;
      if (entry?.language_model === undefined || failed.has(request.key)) continue;
      try {
        decoders.push({
          key: request.key,
          model: await readVerifiedDecoder(this.options.modelsDir, entry),
          providers: request.providers,
          spec: decodeSpecOf(entry.language_model),
        });
      } catch (error) {
        const result = results.find((candidate) => candidate.key === request.key);
        if (result !== undefined) result.error = (error as Error).message;
      }
    }
    if (decoders.length === 0) return;
    this.decoderPool = new DecoderPool(this.options.decoderThreads);
    const failures = await this.decoderPool.start(decoders);
    for (const result of results) {
      const error = failures.get(result.key);
      if (error !== undefined) result.error = `decoder thread: ${error}`;
    }
  }

  private outputNames(model: LoadedModel): string[] {
    return model.entry.outputs.map((spec) => spec.name);
  }

  /** Batches run on the event loop when they qualify (inline-inference.ts), on the model's pool otherwise. */
  private batcherFor(model: LoadedModel): MicroBatcher {
    const pool = this.pools.get(model.pool) as InferencePool;
    const outputNames = this.outputNames(model);
    const labels = { model: model.entry.name, version: model.entry.version };
    const inlineRows = this.inline.maxRows(model.key);
    const runBatch: RunBatch = (inputs, rows, signal) => {
      const inline = rows <= inlineRows;
      this.observer?.execution(labels, rows, inline);
      return inline ? this.inline.run(model.key, inputs) : pool.run(model.key, inputs, outputNames, signal);
    };
    return new MicroBatcher(model.key, runBatch, {
      maxBatchSize: model.entry.max_batch_size,
      maxWaitMs: this.options.batchMaxWaitMs,
      queueLimit: this.options.inferenceQueueLimit,
      maxConcurrentBatches: pool.size,
    });
  }

  private fail(model: LoadedModel, reason: string): void {
    model.state = 'failed';
    model.reason = reason;
    this.log.error({ model: model.key, reason }, 'model failed to load');
  }
}
