// Builds the real app in-process for a test, with a private data directory, and closes it afterwards.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type Config, loadConfig } from '../../src/config.js';
import { buildApp } from '../../src/server/app.js';
import { waitFor } from './wait.js';

export const MODELS_DIR = new URL('../../models/', import.meta.url).pathname;

/**
 * One decoder thread: each loads every language model (~1.5 s of CPU under tsx), and three of them were
 * two fifths of every app's start. The tests of decoding itself run the default three (DEFAULT_DECODERS).
 */
export async function testConfig(env: Record<string, string> = {}): Promise<Config> {
  const dataDir = await mkdtemp(join(tmpdir(), 'meanserve-test-'));
  return loadConfig({
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    MODELS_DIR: MODELS_DIR,
    INFERENCE_THREADS: '1',
    DECODER_THREADS: '1',
    ...env,
  });
}

/**
 * A copy of models/ whose manifest runs every model in the shared inference pool, for tests that need a long
 * iterated-map inference to hold the thread every other model waits for (served, it has a pool of its own).
 * The caller removes the directory.
 */
export async function modelsInOnePool(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'meanserve-models-'));
  await cp(MODELS_DIR, dir, { recursive: true });
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  for (const entry of manifest.models) delete entry.pool;
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

/**
 * A copy of models/ with the tensor-types fixture added (test/fixtures/tensor-types: one input and output
 * per OIP datatype, built by training/build_tensor_types_model.py). The caller removes the directory.
 */
export async function modelsWithTensorTypes(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'meanserve-models-'));
  await cp(MODELS_DIR, dir, { recursive: true });
  const fixture = new URL('../fixtures/tensor-types/', import.meta.url).pathname;
  await cp(join(fixture, 'model.onnx'), join(dir, 'tensor-types', 'model.onnx'));
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  manifest.models.push(JSON.parse(await readFile(join(fixture, 'manifest-entry.json'), 'utf8')));
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

/** The server's own number of decoder threads, for the tests of decoding across them. */
export const DEFAULT_DECODERS = { DECODER_THREADS: String(loadConfig({}).decoderThreads) };

/** The app with every model loaded. Pair with stopApp in an after hook. */
export async function startApp(env: Record<string, string> = {}): Promise<FastifyInstance> {
  const app = await buildApp(await testConfig(env));
  await app.ready();
  await app.models.loaded();
  return app;
}

/** Closes the app and removes its data directory. */
export async function stopApp(app: FastifyInstance | undefined): Promise<void> {
  if (app === undefined) return;
  await app.close();
  await rm(app.config.dataDir, { recursive: true, force: true });
}

/** A one-request batch-infer job body for `spiral-mlp` (the smallest model: the job finishes at once). */
export function spiralJob(data: [number, number] = [0.3, -0.7]) {
  return {
    type: 'onnx.batch-infer',
    params: {
      model: 'spiral-mlp',
      requests: [{ inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data }] }],
    },
  };
}

/** Every bad-input test ends here: the server must still answer liveness. */
export async function assertLive(app: FastifyInstance): Promise<void> {
  const response = await app.inject({ method: 'GET', url: '/health/live' });
  if (response.statusCode !== 200)
    throw new Error(`server not live after the request: ${response.statusCode}`);
}

/** Listens on a free local port; the base URL to reach the app over a real socket. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address !== 'object') throw new Error('the app is not listening on a port');
  return `http://127.0.0.1:${address.port}`;
}

/**
 * With REDIS_URL, the job queue's connections are still being made after ready(): wait until it answers
 * (a call or a close before then fails, or leaves BullMQ's init rejecting after the close).
 */
export async function queueAnswers(app: FastifyInstance): Promise<void> {
  await waitFor('the queue to answer', () =>
    app.queue.ping().then(
      () => true,
      () => false,
    ),
  );
}

/**
 * OpenAI-compatible routes, whose errors are OpenAI's `{error: {message, …}}` as application/json (not the
 * model upload under /v1/models/{name}/versions/{version}: meanserve's own route).
 */
const OPENAI_ROUTE = /^\/v1\/(completions|chat\/completions|responses|embeddings|models(\/[^/?]+)?)(\?|$)/;

/**
 * The content type an error of `url` must have: problem+json, or application/json where clients of an
 * ecosystem read their own shape (the OpenAI-compatible routes, and the Open Inference Protocol under /v2).
 */
export function errorContentType(url: string): RegExp {
  return OPENAI_ROUTE.test(url) || url.startsWith('/v2')
    ? /^application\/json/
    : /^application\/problem\+json/;
}
