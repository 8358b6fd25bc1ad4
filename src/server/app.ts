// buildApp(config): the whole service as a Fastify instance, without listening. main.ts listens; tests call
// this and talk to it in-process. Domain services are decorated onto the instance: models, queue, collections, metrics.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyInstance,
  type FastifyRequest,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import { type Config, modelAccess } from '../config.js';
import { BullmqQueue } from '../jobs/backends/bullmq/bullmq-queue.js';
import { InlineQueue } from '../jobs/backends/inline/inline-queue.js';
import { JOB_TYPE_NAMES } from '../jobs/catalog.js';
import { IndexJobApplier } from '../jobs/index-job-applier.js';
import { JobService } from '../jobs/job-service.js';
import type { JobQueue } from '../jobs/queue.js';
import type { Log } from '../lib/log.js';
import { REDACTED, REDACTED_LOG_PATHS, redactUrl } from '../lib/redact.js';
import { StorageProbe } from '../lib/storage-probe.js';
import { CompletionService } from '../models/lm/completion-service.js';
import { ModelRegistry } from '../models/registry.js';
import { GraphInspector } from '../models/repository/graph-inspection.js';
import { ModelRepository } from '../models/repository/model-repository.js';
import { RepositoryService } from '../models/repository/repository-service.js';
import { RepositorySync } from '../models/repository/repository-sync.js';
import { CollectionService } from '../retrieval/collection-service.js';
import type { CollectionStore } from '../retrieval/collections/collection-store.js';
import { openCollectionStore } from '../retrieval/collections/open-collection-store.js';
import { ImageDecoder } from '../retrieval/embedding/image-decoder.js';
import collectionRoutes from '../routes/collections.js';
import completionRoutes from '../routes/completions.js';
import embeddingRoutes from '../routes/embeddings.js';
import generateRoutes from '../routes/generate.js';
import healthRoutes from '../routes/health.js';
import jobRoutes from '../routes/jobs.js';
import meanflowRoutes from '../routes/meanflow.js';
import modelRoutes from '../routes/models.js';
import oipRoutes from '../routes/oip.js';
import pageRoutes from '../routes/pages.js';
import repositoryRoutes from '../routes/repository.js';
import responseRoutes from '../routes/responses.js';
import { PointId } from '../schemas/retrieval.js';
import { limitConnections } from './connection-limit.js';
import { Metrics } from './metrics.js';
import { adminGuard } from './plugins/admin-guard.js';
import answerBudget from './plugins/answer-budget.js';
import auth from './plugins/auth.js';
import bodyBudget from './plugins/body-budget.js';
import browserSecurity from './plugins/browser-security.js';
import contentEncoding from './plugins/content-encoding.js';
import deadlines from './plugins/deadlines.js';
import jsonBody from './plugins/json-body.js';
import loadShedding from './plugins/load-shedding.js';
import openAiNulls from './plugins/openai-nulls.js';
import pipelining from './plugins/pipelining.js';
import problem, { clientError, frameworkError } from './plugins/problem.js';
import queueDashboard from './plugins/queue-dashboard.js';
import rateLimit from './plugins/rate-limit.js';
import swagger from './plugins/swagger.js';
import validation from './plugins/validation.js';

/**
 * How often DATA_DIR is probed with a small write, so readiness sees a failed disk even while nothing is
 * written, and sees it recover (a remount) within this long.
 */
const STORAGE_PROBE_INTERVAL_MS = 5000;

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    models: ModelRegistry;
    queue: JobQueue;
    /** Completions: checks, generation slots, OpenAI-shaped answers. */
    completions: CompletionService;
    /** Job submission: lookup, validation, checks, idempotency fingerprint, queue limit. */
    jobs: JobService;
    collections: CollectionStore;
    /** Applies finished collections.index jobs to their collections; says when one has been. */
    indexJobs: IndexJobApplier;
    /** Collections as the routes use them: create, upsert and search, images embedded on the way. */
    retrieval: CollectionService;
    /** Threads that decode the images clients send (PNG), off the event loop. */
    images: ImageDecoder;
    metrics: Metrics;
    /** Whether DATA_DIR still takes writes, where it holds the jobs or the collections (probeDataDir). */
    storage: StorageProbe | undefined;
    /** True once shutdown began: readiness answers 503 so load balancers drain this replica. */
    draining: boolean;
    /** A request URL with its secrets (API keys in the query) redacted, for logs and error bodies. */
    safeUrl(url: string): string;
  }
}

export interface BuildOptions {
  /** Start loading models at once (default true); tests that never touch models can skip it. */
  loadModels?: boolean;
  /** Where log lines go (default standard output); a test reads what the server logged from it. */
  logStream?: { write(line: string): void };
}

/** The job queue; inline jobs report the tokens they decode to `metrics` (BullMQ workers count their own). */
export async function createQueue(config: Config, log: Log, metrics: Metrics): Promise<JobQueue> {
  return config.redisUrl === undefined
    ? InlineQueue.open(config.jobs, config.dataDir, modelAccess(config), JOB_TYPE_NAMES, log, {
        storageTimeoutMs: config.storageTimeoutMs,
        onTokens: (tokens) => metrics.jobTokens(tokens),
      })
    : new BullmqQueue(config.redisUrl, config.redisPrefix, config.jobs, JOB_TYPE_NAMES, (error) =>
        log.error({ err: error }, 'job queue error'),
      );
}

/**
 * The probe of DATA_DIR, where it holds this process's jobs (the inline queue) or collections (the file
 * store); with jobs in Redis and collections in PostgreSQL it holds scratch files only, and a read-only one
 * is a choice (a hardened container), not a failure: no probe. Before anything opens a file there, a
 * read-only or failed DATA_DIR is said plainly (the first mkdir under a read-only one reported ENOENT); a
 * full one still starts: reads and inference work.
 */
async function probeDataDir(config: Config): Promise<StorageProbe | undefined> {
  if (config.redisUrl !== undefined && config.databaseUrl !== undefined) return undefined;
  const storage = new StorageProbe(config.dataDir, config.storageTimeoutMs);
  const writable = await storage.check();
  if (!writable.ok && !writable.full) {
    throw new Error(`DATA_DIR ${config.dataDir} cannot be written: ${writable.reason}`);
  }
  storage.start(STORAGE_PROBE_INTERVAL_MS);
  return storage;
}

/** What a client may send as its request's id: gateways and tracers send UUIDs, hex and such. */
const CLIENT_REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/**
 * The request's id in its log lines and its answer: the client's x-request-id when it looks like one, else a
 * UUID, which names one request among every replica's logs (Fastify's own ids count from 1 in each process).
 * A 16 KB header or one with spaces is not copied into every log line of its request.
 */
function requestIdOf(request: IncomingMessage): string {
  const sent = request.headers['x-request-id'];
  return typeof sent === 'string' && CLIENT_REQUEST_ID.test(sent) ? sent : randomUUID();
}

/** Fastify's trustProxy for TRUST_PROXY: a count of proxies trusts that many hops from this server. */
function trustedProxies(trust: string[] | number): Pick<FastifyServerOptions, 'trustProxy'> {
  if (typeof trust === 'number') return { trustProxy: (_address, hop) => hop < trust };
  return trust.length === 0 ? {} : { trustProxy: trust };
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const secrets = new Set(
    [...config.security.apiKeys, ...config.security.adminApiKeys].map(({ key }) => key),
  );
  const safeUrl = (url: string) => redactUrl(url, secrets);
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: { paths: REDACTED_LOG_PATHS, censor: REDACTED },
      // Fastify logs `req` on its own errors: the URL without its secrets, and no headers.
      serializers: {
        req: (request: FastifyRequest) => ({
          method: request.method,
          url: safeUrl(request.url),
          remoteAddress: request.ip,
        }),
      },
      ...(options.logStream === undefined ? {} : { stream: options.logStream }),
    },
    bodyLimit: config.bodyLimit,
    // A point id may have 256 characters and its path carries it percent-encoded, up to 9 for one (three
    // UTF-8 bytes): Fastify's default of 100 answered 414 to the GET and DELETE of ids the upsert had taken.
    routerOptions: { maxParamLength: (PointId.maxLength as number) * 9 },
    connectionTimeout: config.connectionTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    // During close(), new requests on kept-alive sockets get 503 + Connection: close.
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Behind named reverse proxies (TRUST_PROXY) request.ip is the client's, from X-Forwarded-For.
    ...trustedProxies(config.security.trustProxy),
    requestIdHeader: false,
    genReqId: requestIdOf,
    // Fastify's two lines per request are replaced by the single onResponse line below.
    logController: new LogController({ disableRequestLogging: true }),
    frameworkErrors: frameworkError,
    clientErrorHandler: clientError,
  }).withTypeProvider<TypeBoxTypeProvider>();

  const storage = await probeDataDir(config);
  const metrics = new Metrics();
  limitConnections(app.server, config.maxConnections, app.log, metrics);
  const models = new ModelRegistry(config, app.log, metrics);
  const repository = new ModelRepository(config.modelRepositoryDir, config.storageTimeoutMs);
  const repositorySync = new RepositorySync(repository, models, app.log, config.modelRepositoryPollMs);
  const queue = await createQueue(config, app.log, metrics);
  const collections = await openCollectionStore(config, app.log);
  const images = new ImageDecoder(config.imageDecodeThreads, app.log);
  metrics.watch(models, queue, collections, repositorySync);
  const indexJobs = new IndexJobApplier(collections, queue, app.log);
  const retrieval = new CollectionService(collections, models, images, config.collectionsMemoryBytes);

  app.decorate('config', config);
  app.decorate('models', models);
  app.decorate('queue', queue);
  app.decorate(
    'jobs',
    new JobService(queue, {
      lookups: {
        models: (name, version) => models.get(name, version).entry,
        collections: (name) => collections.get(name).config,
        fitsCollections: (name, points, payloadBytes) => retrieval.fits(name, points, payloadBytes),
        modelsDir: config.modelsDir,
      },
      queueLimit: config.security.jobQueueLimit,
      onQueueFull: (keyName) => metrics.rejected('queue-full', keyName),
    }),
  );
  app.decorate(
    'repository',
    new RepositoryService(
      repository,
      models,
      repositorySync,
      config.modelUploadLimitBytes,
      new GraphInspector(config.modelInspectionTimeoutMs, config.uploadedModels.memoryLimitBytes),
    ),
  );
  app.decorate('collections', collections);
  app.decorate('indexJobs', indexJobs);
  app.decorate('images', images);
  app.decorate('retrieval', retrieval);
  app.decorate('metrics', metrics);
  app.decorate(
    'completions',
    new CompletionService(
      models,
      config.modelsDir,
      { concurrency: config.generationConcurrency, queueLimit: config.generationQueueLimit },
      metrics,
    ),
  );
  app.decorate('storage', storage);
  app.decorate('draining', false);
  app.decorate('safeUrl', safeUrl);

  // One log line per request, with the route pattern, status and latency; metrics from the same hook. A
  // callback hook, and the line built only when it is logged: this runs for every request.
  const requestLines = ['trace', 'debug', 'info'].includes(config.logLevel);
  // Every answer names its request, as OpenAI's do (the openai SDKs show it as an error's requestID): what a
  // client reports finds the request's log line.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    if (request.apiKeyName !== undefined) metrics.keyRequest(request.apiKeyName, reply.statusCode);
    if (requestLines) {
      request.log.info(
        {
          method: request.method,
          route,
          url: safeUrl(request.url),
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime),
          ...(request.apiKeyName === undefined ? {} : { key: request.apiKeyName }),
        },
        'request',
      );
    }
    done();
  });
  app.addHook('onReady', async () => indexJobs.start());
  app.addHook('onClose', async () => {
    await storage?.close();
    await indexJobs.close();
    await collections.close();
    await queue.close(config.shutdownTimeoutMs);
    await repositorySync.close();
    await models.close();
    await images.close();
  });
  // A text/plain body on a JSON route is a 415, not a string that fails validation.
  app.removeContentTypeParser('text/plain');

  await app.register(problem, { storage });
  await app.register(jsonBody, config.jsonLimits);
  await app.register(contentEncoding);
  // Before auth: a CORS preflight carries no key and is answered by the CORS hook itself.
  await app.register(browserSecurity, { corsOrigins: config.security.corsOrigins });
  await app.register(pipelining, { maxInFlight: config.security.maxPipelinedRequests });
  // In this order: a request is authenticated, then counted against its key's limit, then shed if overloaded,
  // then its body charged to the budget of bodies held at once.
  await app.register(auth, { keys: config.security.apiKeys });
  await app.register(rateLimit, {
    limits: config.security.rateLimits,
    ...(config.redisUrl === undefined ? {} : { redis: { url: config.redisUrl, prefix: config.redisPrefix } }),
  });
  await app.register(loadShedding, {
    eventLoopDelayMs: config.security.shedEventLoopDelayMs,
    heapUsedPercent: config.security.shedHeapUsedPercent,
  });
  await app.register(bodyBudget, { bytes: config.security.bodyBudgetBytes });
  await app.register(answerBudget, { bytes: config.security.downloadBudgetBytes });
  await app.register(deadlines, { deadlines: config.security.deadlines });
  await app.register(validation);
  await app.register(openAiNulls);
  await app.register(swagger);
  await app.register(healthRoutes);
  await app.register(modelRoutes);
  await app.register(oipRoutes);
  await app.register(generateRoutes);
  await app.register(jobRoutes);
  await app.register(meanflowRoutes);
  await app.register(embeddingRoutes);
  await app.register(collectionRoutes);
  await app.register(completionRoutes);
  await app.register(responseRoutes);
  await app.register(pageRoutes);
  await app.register(queueDashboard, { keys: config.security.adminApiKeys });
  // Encapsulated: the guard covers the repository routes only.
  await app.register(async (admin) => {
    const openServer = config.security.apiKeys.length === 0 && config.security.adminApiKeys.length === 0;
    admin.addHook(
      'onRequest',
      adminGuard(app, { keys: config.security.adminApiKeys, openServer, what: 'the model repository API' }),
    );
    await admin.register(repositoryRoutes);
  });

  if (options.loadModels !== false) {
    void models
      .start()
      .then(() =>
        repositorySync
          .start()
          .catch((error: Error) => app.log.error({ err: error }, 'model repository unreadable')),
      );
  }
  return app;
}
