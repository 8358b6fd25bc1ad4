// Jobs through the API, for the job types' tests: submit, poll until a final state, run to completion, cancel
// one while it reports progress, and assert that bad params are refused at submit with the field path (and
// that the server stays live).
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { assertLive } from './app.js';
import { waitFor } from './wait.js';

const FINAL_STATES = ['completed', 'failed', 'cancelled'];

/** `app` is a getter because tests build the app in `before`. */
export function jobApi(app: () => FastifyInstance, timeoutMs = 30_000) {
  const submit = (type: string, params: unknown, seed = 1) =>
    app().inject({ method: 'POST', url: '/v1/jobs', payload: { type, params, seed } });
  const job = async (id: string) => (await app().inject(`/v1/jobs/${id}`)).json();
  const finished = (id: string) =>
    waitFor(
      `job ${id}`,
      async () => {
        const current = await job(id);
        return FINAL_STATES.includes(current.state) ? current : undefined;
      },
      timeoutMs,
    );
  const run = async (type: string, params: unknown, seed = 1) => {
    const submitted = await submit(type, params, seed);
    assert.equal(submitted.statusCode, 202, submitted.body);
    const done = await finished(submitted.json().id);
    assert.equal(done.state, 'completed', done.error);
    return done;
  };
  const assertRefused = async (type: string, params: unknown, path: string) => {
    const response = await submit(type, params);
    assert.equal(response.statusCode, 400, response.body);
    assert.match(response.headers['content-type'] as string, /application\/problem\+json/);
    const paths = response.json().errors.map((error: { path: string }) => error.path);
    assert.ok(paths.includes(path), `${paths.join(', ')} should include ${path}`);
    await assertLive(app());
  };
  /** Waits for progress carrying `metric`, cancels the job while it runs, and returns what it reported. */
  const cancelWhileRunning = async (id: string, metric: string) => {
    const running = await waitFor(`progress with ${metric}`, async () => {
      const current = await job(id);
      return current.progress?.metrics?.[metric] !== undefined && current.progress.fraction > 0
        ? current
        : undefined;
    });
    assert.equal(running.state, 'running');
    assert.equal((await app().inject({ method: 'DELETE', url: `/v1/jobs/${id}` })).statusCode, 200);
    assert.equal((await finished(id)).state, 'cancelled');
    return running;
  };
  return { submit, job, finished, run, assertRefused, cancelWhileRunning };
}
