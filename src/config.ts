// Environment → typed configuration, parsed once at start. Every variable, its default and its unit is
// listed in docs/operations.md; defaults run everything in one process on a laptop.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_JSON_LIMITS, type JsonLimits } from './lib/json-limits.js';
import { openFileLimit } from './lib/open-file-limit.js';

export interface Config {
  /** TCP port. @defaultValue 8080 */
  port: number;
  /** Listen address. @defaultValue 0.0.0.0 */
  host: string;
  /** Port of a BullMQ worker's GET /metrics (on `host`); unset: the worker serves none. 0 picks a free port. */
  workerMetricsPort: number | undefined;
  /** pino level. @defaultValue info */
  logLevel: string;
  /** Redis URL; unset selects the inline (in-process) job queue. */
  redisUrl: string | undefined;
  /** Key prefix for every Redis key the service writes. @defaultValue meanserve */
  redisPrefix: string;
  /** PostgreSQL URL; set, collections live there and every replica follows its change log. */
  databaseUrl: string | undefined;
  /** Directory for collections and inline-queue artifacts. @defaultValue ./data */
  dataDir: string;
  /**
   * Longest a write to DATA_DIR (a job's record, the storage probe's file) may take before the disk counts
   * as not answering: requests that need it get 503 instead of waiting for a hung disk. @defaultValue 5000
   */
  storageTimeoutMs: number;
  /** Directory holding manifest.json and the model files. @defaultValue ./models */
  modelsDir: string;
  /**
   * The model repository: models uploaded through the API, with which of them are loaded. Replicas that
   * share it serve the same models. @defaultValue DATA_DIR/models
   */
  modelRepositoryDir: string;
  /** How often a replica reconciles its loaded models with the repository. @defaultValue 1000 */
  modelRepositoryPollMs: number;
  /** Largest ONNX file an upload may carry. @defaultValue 64 MiB */
  modelUploadLimitBytes: number;
  /**
   * Longest an upload's graph may take to run once on zeros before the upload is refused
   * (MODEL_INSPECTION_TIMEOUT_MS). @defaultValue 60 000
   */
  modelInspectionTimeoutMs: number;
  /** The inference process each loaded upload runs in. */
  uploadedModels: {
    /**
     * Memory it may hold, bytes (UPLOADED_MODEL_MEMORY_MB, MiB, 0 for no limit; its RLIMIT_DATA), and
     * the inspection process an upload is tried in too: a run that needs more is the request's 422, not
     * the machine's out-of-memory killer. @defaultValue 4 GiB
     */
    memoryLimitBytes: number | undefined;
    /**
     * How long its run may go on once every request in it has gone (deadline passed, client left) before
     * the process is killed (INFERENCE_CANCEL_GRACE_MS). @defaultValue 1000
     */
    cancelGraceMs: number;
  };
  /** Debian's dataset-fashion-mnist files, read by collections.index jobs. @defaultValue /usr/share/datasets/fashion-mnist */
  fashionMnistDir: string;
  /** ONNX Runtime execution providers, tried in order. @defaultValue ['cpu'] */
  executionProviders: string[];
  /** Worker threads holding ONNX sessions. @defaultValue half the cores, at least 1 */
  inferenceThreads: number;
  /** Threads decoding the PNG images clients send. @defaultValue half the cores, at least 1 */
  imageDecodeThreads: number;
  /** ONNX Runtime intra-op threads per session. @defaultValue 1 */
  intraOpThreads: number;
  /**
   * Threads decoding language-model sequences (each holds every language model and the caches of its
   * sequences). Three let an antidistillation step run teacher and both proxies at once. @defaultValue 3
   */
  decoderThreads: number;
  /** Completion requests generating at once; more wait for a slot. @defaultValue 16 */
  generationConcurrency: number;
  /** Completion requests waiting for a generation slot; one more gets 503 with Retry-After. @defaultValue 128 */
  generationQueueLimit: number;
  /**
   * Extra time a request may wait in a partial micro-batch for company, in ms. At 0 a request goes to an
   * inference thread as soon as one is free, and batches form from what arrives while all are busy
   * (Triton's dynamic batcher without a queue delay). @defaultValue 0
   */
  batchMaxWaitMs: number;
  /**
   * A micro-batch whose measured compute is at most this many microseconds runs on the event loop instead of
   * an inference thread (the hop costs more than the work); 0 sends every batch to the threads.
   * @defaultValue 100
   */
  inlineInferenceMaxUs: number;
  /**
   * Requests waiting before new ones get 503: per model in a micro-batcher (batched models), and in all for the
   * inference threads (models that are not batched). @defaultValue 256
   */
  inferenceQueueLimit: number;
  /** Largest JSON body on ordinary routes, bytes. @defaultValue 1 MiB */
  bodyLimit: number;
  /** Largest JSON body on inference and job-submission routes, bytes. @defaultValue 32 MiB */
  inferenceBodyLimit: number;
  /** Structural limits on every JSON body (depth, keys, array and string lengths); see src/lib/json-limits.ts. */
  jsonLimits: JsonLimits;
  /**
   * Client connections held at once; the next are closed as they arrive (counted and logged) instead of
   * taking the descriptors the server's own files need. Unset: unlimited (the open-file limit is unknown).
   * @defaultValue the open-file limit less RESERVED_FILE_DESCRIPTORS
   */
  maxConnections: number | undefined;
  /**
   * What vector collections may take in memory together, estimated (retrieval/collections/collection.ts):
   * creates and upserts past it get 507; 0 for no bound. @defaultValue half the memory the process may use
   */
  collectionsMemoryBytes: number;
  /** Socket and request timeouts, ms. */
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** Time SIGTERM gives in-flight requests and running jobs before the process gives up, ms. @defaultValue 30000 */
  shutdownTimeoutMs: number;
  jobs: JobConfig;
  security: SecurityConfig;
}

/** One API key: its name appears in logs and metrics, the key itself never does. */
export interface ApiKey {
  name: string;
  key: string;
}

/** Route families that rate limits and deadlines are set for; each route declares its own (server/plugins/route-policy.ts). */
export const ROUTE_FAMILIES = ['inference', 'write', 'read'] as const;
export type RouteFamily = (typeof ROUTE_FAMILIES)[number];

export interface SecurityConfig {
  /**
   * Keys accepted as `Authorization: Bearer <key>` (API_KEYS name:key pairs, comma-separated, and/or
   * API_KEYS_FILE, one name:key per line). Empty: every route is open and a warning is logged at start.
   * @defaultValue []
   */
  apiKeys: ApiKey[];
  /**
   * Keys for the queue dashboard at /admin/queues (ADMIN_API_KEYS, name:key pairs), as Bearer or as the
   * password of Basic auth (what a browser sends). Unset: no dashboard. Only with the BullMQ backend.
   * @defaultValue []
   */
  adminApiKeys: ApiKey[];
  /**
   * Requests per minute per key (per client address when no keys are configured) for each route family;
   * a family that is absent is unlimited. RATE_LIMITS, e.g. `inference=120,write=30,read=600`.
   * @defaultValue {} (no limits)
   */
  rateLimits: Partial<Record<RouteFamily, number>>;
  /**
   * New work is refused (503) while the event loop's p99 delay stayed above this for two consecutive
   * half-second windows, ms; 0 turns the check off. Off by default: a process whose own synchronous work
   * (a test, a large JSON body) blocks the loop would shed the requests behind it; 500 suits a dedicated
   * replica. @defaultValue 0
   */
  shedEventLoopDelayMs: number;
  /** New work is refused (503) while the V8 heap is above this percentage of its limit; 0 turns it off. @defaultValue 95 */
  shedHeapUsedPercent: number;
  /**
   * Bytes of request bodies held at once across connections; a request past it gets 503 unless it is the
   * only one (plugins/body-budget.ts); 0 turns it off. @defaultValue 512 MiB
   */
  bodyBudgetBytes: number;
  /**
   * Bytes of large answers being sent at once (job artifacts and params, searches with large payloads, any
   * answer of 1 MiB or more: each is held whole until its client has it all); one past it gets 503 unless
   * it is the only one; 0 turns it off (server/plugins/answer-budget.ts). @defaultValue 256 MiB
   */
  downloadBudgetBytes: number;
  /**
   * Requests in flight at once on one connection (HTTP/1.1 pipelining); the next get 503 without being run
   * (plugins/pipelining.ts). @defaultValue 16
   */
  maxPipelinedRequests: number;
  /** Jobs waiting to start per job type before submissions of that type get 503. @defaultValue 10000 */
  jobQueueLimit: number;
  /**
   * Longest a handler may take per route family before the request is answered 503 (its result dropped), ms
   * (DEADLINES, e.g. `inference=120000,write=120000,read=30000`). Streams are timed only until they start.
   */
  deadlines: Record<RouteFamily, number>;
  /**
   * Origins whose browser pages may call the API (CORS_ORIGINS, comma-separated exact origins such as
   * `https://app.example.com`, or `*` for any). Empty: no CORS headers, browsers allow same-origin only.
   * @defaultValue []
   */
  corsOrigins: string[];
  /**
   * The reverse proxies whose X-Forwarded-For is believed (TRUST_PROXY): their addresses or CIDR ranges
   * (`10.0.0.0/8`, `loopback`, `linklocal`, `uniquelocal`), or how many proxies stand in front (a count).
   * A request's address — what rate limits of clients without keys and the logs go by — is then the
   * client's as the proxies report it. Empty: the connection's own address; forwarded headers are ignored.
   * @defaultValue []
   */
  trustProxy: string[] | number;
}

/** How long a write to DATA_DIR may take before the disk counts as not answering (STORAGE_TIMEOUT_MS). */
export const DEFAULT_STORAGE_TIMEOUT_MS = 5000;

export interface JobConfig {
  /** Jobs run at once per job type in this process (inline) or per worker process (bullmq). @defaultValue 1 */
  concurrency: number;
  /** Tries for a job that fails for a transient reason; bad params are never retried. @defaultValue 3 */
  attempts: number;
  /** First retry delay, doubled on each further try, ms. @defaultValue 1000 */
  backoffMs: number;
  /** Finished jobs kept at most this long, seconds. @defaultValue 86400 */
  retentionSeconds: number;
  /** Finished jobs kept at most this many per type and final state. @defaultValue 1000 */
  retentionCount: number;
  /** BullMQ lock duration; a worker silent this long is presumed dead, ms. @defaultValue 30000 */
  lockDurationMs: number;
  /** How often BullMQ looks for stalled jobs, ms. @defaultValue 30000 */
  stalledIntervalMs: number;
  /** Largest artifact a job may write, bytes. @defaultValue 64 MiB */
  artifactLimit: number;
  /**
   * How long a cancelled (or, at shutdown, stopped) job may take to stop by itself before its process is
   * killed, ms. @defaultValue 5000
   */
  cancelGraceMs: number;
}

/** What a job processor needs to open models (where they are, how to run them) and the datasets it reads. */
export type ModelAccess = Pick<
  Config,
  'modelsDir' | 'modelRepositoryDir' | 'executionProviders' | 'intraOpThreads' | 'fashionMnistDir'
>;

export function modelAccess(config: Config): ModelAccess {
  return {
    modelsDir: config.modelsDir,
    modelRepositoryDir: config.modelRepositoryDir,
    executionProviders: config.executionProviders,
    intraOpThreads: config.intraOpThreads,
    fashionMnistDir: config.fashionMnistDir,
  };
}

type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** `name` as an integer >= `min`, or undefined when it is unset or empty. */
function optionalInteger(env: Env, name: string, min = 0): number | undefined {
  return env[name] === undefined || env[name] === '' ? undefined : integer(env, name, min, min);
}

function integer(env: Env, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(`${name} must be an integer >= ${min}, got '${raw}'`);
  }
  return value;
}

/** Node and onnxruntime alone take ~135 MiB of data (VmData, under tsx): much less and no process starts. */
const LEAST_UPLOADED_MODEL_MEMORY_MB = 256;

function uploadedModelMemoryLimit(env: Env): number | undefined {
  const mib = integer(env, 'UPLOADED_MODEL_MEMORY_MB', 4096);
  if (mib === 0) return undefined;
  if (mib < LEAST_UPLOADED_MODEL_MEMORY_MB) {
    throw new ConfigError(
      `UPLOADED_MODEL_MEMORY_MB must be 0 (no limit) or at least ${LEAST_UPLOADED_MODEL_MEMORY_MB}, got '${mib}'`,
    );
  }
  return mib * 2 ** 20;
}

/**
 * Descriptors kept from clients for the server's own: its threads' event loops and pipes, the job store, the
 * files of jobs, models and collections, PostgreSQL and Redis connections (about 50 in use when idle).
 */
export const RESERVED_FILE_DESCRIPTORS = 256;
/**
 * The least open-file limit the processes start under: their threads import their modules at once as they
 * start, about 230 files open together (below that a thread failed to start on EMFILE and the server listened
 * but was never ready), and the reserve above must still leave room for clients.
 */
export const MIN_OPEN_FILES = 512;

/**
 * MAX_CONNECTIONS within the open-file limit: with connections unbounded, 20 000 idle sockets from one
 * anonymous client took every descriptor of a server at 20 000, and it answered nobody (new connections
 * were closed unread), its model repository scan and job files failing on EMFILE, until they timed out.
 */
function maxConnections(env: Env, openFiles: number | undefined): number | undefined {
  if (openFiles === undefined) return optionalInteger(env, 'MAX_CONNECTIONS', 1);
  if (openFiles < MIN_OPEN_FILES) {
    throw new ConfigError(
      `the open-file limit (ulimit -n) is ${openFiles}; meanserve needs at least ${MIN_OPEN_FILES}: raise it (ulimit -n, docker run --ulimit nofile=65536, systemd's LimitNOFILE=)`,
    );
  }
  const room = openFiles - RESERVED_FILE_DESCRIPTORS;
  const value = integer(env, 'MAX_CONNECTIONS', room, 1);
  if (value > room) {
    throw new ConfigError(
      `MAX_CONNECTIONS (${value}) leaves fewer than ${RESERVED_FILE_DESCRIPTORS} of the open-file limit (${openFiles}) for the server's own files: set at most ${room}, or raise the limit`,
    );
  }
  return value;
}

/** The memory this process may use: its cgroup's limit in a container, the machine's otherwise. */
function memoryAvailable(): number {
  const constrained = process.constrainedMemory?.() ?? 0;
  return constrained > 0 && constrained < totalmem() ? constrained : totalmem();
}

function list(raw: string | undefined, fallback: string[]): string[] {
  if (raw === undefined || raw.trim() === '') return fallback;
  return raw
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item !== '');
}

const KEY_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
/** Shorter keys are guessable; 16 characters of a random token are the floor. */
const MIN_KEY_LENGTH = 16;

function parseKeys(entries: string[], source: string): ApiKey[] {
  return entries.map((entry) => {
    const colon = entry.indexOf(':');
    const name = entry.slice(0, colon);
    const key = entry.slice(colon + 1);
    if (colon < 0 || !KEY_NAME.test(name)) {
      throw new ConfigError(`${source}: each entry must be name:key with a name matching ${KEY_NAME.source}`);
    }
    if (key.length < MIN_KEY_LENGTH || /\s/.test(key)) {
      throw new ConfigError(
        `${source}: the key of '${name}' must be at least ${MIN_KEY_LENGTH} characters without spaces`,
      );
    }
    return { name, key };
  });
}

/** API_KEYS and API_KEYS_FILE together; a name may appear twice (old and new key while rotating), a key may not. */
export function loadApiKeys(env: Env): ApiKey[] {
  const keys: ApiKey[] = [];
  const inline = env.API_KEYS?.trim();
  if (inline)
    keys.push(
      ...parseKeys(
        inline
          .split(',')
          .map((entry) => entry.trim())
          .filter(Boolean),
        'API_KEYS',
      ),
    );
  const file = env.API_KEYS_FILE?.trim();
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(`API_KEYS_FILE: cannot read ${file}: ${(error as Error).message}`);
    }
    const lines = text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    keys.push(...parseKeys(lines, 'API_KEYS_FILE'));
  }
  const seen = new Set<string>();
  for (const { name, key } of keys) {
    if (seen.has(key)) throw new ConfigError(`API_KEYS: the key of '${name}' is listed twice`);
    seen.add(key);
  }
  return keys;
}

export function parseAdminKeys(raw: string | undefined): ApiKey[] {
  const entries = (raw ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  return parseKeys(entries, 'ADMIN_API_KEYS');
}

/** `family=number,…` with each family one of ROUTE_FAMILIES and each number a positive integer. */
function familyNumbers(
  name: string,
  raw: string | undefined,
  unit: string,
): Partial<Record<RouteFamily, number>> {
  const values: Partial<Record<RouteFamily, number>> = {};
  for (const entry of (raw ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)) {
    const [family, text] = entry.split('=').map((part) => part.trim());
    const value = Number(text);
    if (!ROUTE_FAMILIES.includes(family as RouteFamily) || !Number.isSafeInteger(value) || value < 1) {
      throw new ConfigError(
        `${name}: '${entry}' must be family=${unit} with family one of ${ROUTE_FAMILIES.join(', ')}`,
      );
    }
    values[family as RouteFamily] = value;
  }
  return values;
}

export function parseRateLimits(raw: string | undefined): Partial<Record<RouteFamily, number>> {
  return familyNumbers('RATE_LIMITS', raw, 'requests-per-minute');
}

const DEFAULT_DEADLINES: Record<RouteFamily, number> = { inference: 120_000, write: 120_000, read: 30_000 };

export function parseDeadlines(raw: string | undefined): Record<RouteFamily, number> {
  return { ...DEFAULT_DEADLINES, ...familyNumbers('DEADLINES', raw, 'milliseconds') };
}

/** `*` or a list of origins (scheme://host[:port], no path); a typo is a start-up error, not an open door. */
export function parseCorsOrigins(raw: string | undefined): string[] {
  const origins = (raw ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  for (const origin of origins) {
    if (origin !== '*' && !/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/.test(origin)) {
      throw new ConfigError(
        `CORS_ORIGINS: '${origin}' must be * or an origin such as https://app.example.com`,
      );
    }
  }
  return origins;
}

const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * Addresses, CIDR ranges or named ranges of trusted proxies, or a count of them. Trusting every sender
 * (`true`, `*`) would let any client name its own address, and so its own rate-limit bucket: refused.
 */
export function parseTrustProxy(raw: string | undefined): string[] | number {
  const value = (raw ?? '').trim();
  if (value === '') return [];
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops < 1 || hops > 16) throw new ConfigError('TRUST_PROXY: a count of proxies must be 1 … 16');
    return hops;
  }
  const entries = value.split(',').map((entry) => entry.trim().toLowerCase());
  for (const entry of entries) {
    const [address = '', bits, extra] = entry.split('/');
    const family = isIP(address);
    const maxBits = family === 6 ? 128 : 32;
    const validBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits);
    if (PROXY_RANGES.has(entry) || (family !== 0 && validBits && extra === undefined)) continue;
    throw new ConfigError(
      `TRUST_PROXY: '${entry}' must be a proxy's address or CIDR range (10.0.0.0/8), loopback, linklocal, ` +
        'uniquelocal, or a count of proxies; trusting every sender would let clients choose their own address',
    );
  }
  return entries;
}

const KNOWN_PROVIDERS = new Set(['cpu', 'cuda', 'tensorrt', 'dml', 'coreml', 'webgpu']);

/** `limits` stands in for the process's own in tests. */
export function loadConfig(
  env: Env = process.env,
  { openFiles }: { openFiles: number | undefined } = { openFiles: openFileLimit() },
): Config {
  const executionProviders = list(env.ORT_EXECUTION_PROVIDERS, ['cpu']);
  for (const provider of executionProviders) {
    if (!KNOWN_PROVIDERS.has(provider)) {
      throw new ConfigError(
        `ORT_EXECUTION_PROVIDERS: unknown provider '${provider}' (known: ${[...KNOWN_PROVIDERS].join(', ')})`,
      );
    }
  }
  const redisPrefix = env.REDIS_PREFIX ?? 'meanserve';
  // BullMQ builds Lua keys from the prefix; an empty or colon-containing one breaks them in obscure ways.
  if (!/^[A-Za-z0-9_.-]+$/.test(redisPrefix)) {
    throw new ConfigError(`REDIS_PREFIX must match [A-Za-z0-9_.-]+, got '${redisPrefix}'`);
  }
  const redisUrl = env.REDIS_URL?.trim() || undefined;
  const dataDir = resolve(env.DATA_DIR ?? 'data');
  return {
    port: integer(env, 'PORT', 8080),
    host: env.HOST ?? '0.0.0.0',
    workerMetricsPort: optionalInteger(env, 'WORKER_METRICS_PORT'),
    logLevel: env.LOG_LEVEL ?? 'info',
    redisUrl,
    redisPrefix,
    databaseUrl: env.DATABASE_URL?.trim() || undefined,
    dataDir,
    storageTimeoutMs: integer(env, 'STORAGE_TIMEOUT_MS', DEFAULT_STORAGE_TIMEOUT_MS, 100),
    modelsDir: resolve(env.MODELS_DIR ?? 'models'),
    modelRepositoryDir: resolve(env.MODEL_REPOSITORY_DIR?.trim() || join(dataDir, 'models')),
    modelRepositoryPollMs: integer(env, 'MODEL_REPOSITORY_POLL_MS', 1000, 10),
    modelUploadLimitBytes: integer(env, 'MODEL_UPLOAD_LIMIT_BYTES', 64 * 1024 * 1024, 1024),
    modelInspectionTimeoutMs: integer(env, 'MODEL_INSPECTION_TIMEOUT_MS', 60_000, 1),
    uploadedModels: {
      memoryLimitBytes: uploadedModelMemoryLimit(env),
      cancelGraceMs: integer(env, 'INFERENCE_CANCEL_GRACE_MS', 1000),
    },
    fashionMnistDir: resolve(env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist'),
    executionProviders,
    inferenceThreads: integer(
      env,
      'INFERENCE_THREADS',
      Math.max(1, Math.floor(availableParallelism() / 2)),
      1,
    ),
    imageDecodeThreads: integer(
      env,
      'IMAGE_DECODE_THREADS',
      Math.max(1, Math.floor(availableParallelism() / 2)),
      1,
    ),
    intraOpThreads: integer(env, 'ORT_INTRA_OP_THREADS', 1, 1),
    decoderThreads: integer(env, 'DECODER_THREADS', 3, 1),
    generationConcurrency: integer(env, 'GENERATION_CONCURRENCY', 64, 1),
    generationQueueLimit: integer(env, 'GENERATION_QUEUE_LIMIT', 128),
    batchMaxWaitMs: integer(env, 'BATCH_MAX_WAIT_MS', 0),
    inlineInferenceMaxUs: integer(env, 'INLINE_INFERENCE_MAX_US', 250),
    inferenceQueueLimit: integer(env, 'INFERENCE_QUEUE_LIMIT', 256, 1),
    bodyLimit: integer(env, 'BODY_LIMIT_BYTES', 1024 * 1024, 1024),
    inferenceBodyLimit: integer(env, 'INFERENCE_BODY_LIMIT_BYTES', 32 * 1024 * 1024, 1024),
    jsonLimits: {
      maxDepth: integer(env, 'JSON_MAX_DEPTH', DEFAULT_JSON_LIMITS.maxDepth, 1),
      maxKeys: integer(env, 'JSON_MAX_KEYS', DEFAULT_JSON_LIMITS.maxKeys, 1),
      maxArrayLength: integer(env, 'JSON_MAX_ARRAY_LENGTH', DEFAULT_JSON_LIMITS.maxArrayLength, 1),
      maxStringLength: integer(env, 'JSON_MAX_STRING_LENGTH', DEFAULT_JSON_LIMITS.maxStringLength, 1),
    },
    maxConnections: maxConnections(env, openFiles),
    collectionsMemoryBytes: integer(env, 'COLLECTIONS_MEMORY_BYTES', Math.floor(memoryAvailable() / 2)),
    connectionTimeoutMs: integer(env, 'CONNECTION_TIMEOUT_MS', 120_000),
    requestTimeoutMs: integer(env, 'REQUEST_TIMEOUT_MS', 60_000),
    keepAliveTimeoutMs: integer(env, 'KEEP_ALIVE_TIMEOUT_MS', 10_000),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 30_000),
    jobs: {
      concurrency: integer(env, 'JOB_CONCURRENCY', 1, 1),
      attempts: integer(env, 'JOB_ATTEMPTS', 3, 1),
      backoffMs: integer(env, 'JOB_BACKOFF_MS', 1000),
      retentionSeconds: integer(env, 'JOB_RETENTION_SECONDS', 86_400, 1),
      retentionCount: integer(env, 'JOB_RETENTION_COUNT', 1000, 1),
      lockDurationMs: integer(env, 'JOB_LOCK_DURATION_MS', 30_000, 500),
      stalledIntervalMs: integer(env, 'JOB_STALLED_INTERVAL_MS', 30_000, 100),
      artifactLimit: integer(env, 'JOB_ARTIFACT_LIMIT_BYTES', 64 * 1024 * 1024, 1024),
      cancelGraceMs: integer(env, 'JOB_CANCEL_GRACE_MS', 5000),
    },
    security: {
      apiKeys: loadApiKeys(env),
      adminApiKeys: parseAdminKeys(env.ADMIN_API_KEYS),
      rateLimits: parseRateLimits(env.RATE_LIMITS),
      shedEventLoopDelayMs: integer(env, 'SHED_EVENT_LOOP_DELAY_MS', 0),
      shedHeapUsedPercent: integer(env, 'SHED_HEAP_USED_PERCENT', 95),
      bodyBudgetBytes: integer(env, 'BODY_BUDGET_BYTES', 512 * 1024 * 1024),
      downloadBudgetBytes: integer(env, 'DOWNLOAD_BUDGET_BYTES', 256 * 1024 * 1024),
      maxPipelinedRequests: integer(env, 'MAX_PIPELINED_REQUESTS', 16, 1),
      jobQueueLimit: integer(env, 'JOB_QUEUE_LIMIT', 10_000, 1),
      deadlines: parseDeadlines(env.DEADLINES),
      corsOrigins: parseCorsOrigins(env.CORS_ORIGINS),
      trustProxy: parseTrustProxy(env.TRUST_PROXY),
    },
  };
}
