// A long generation and the check that it stopped: the completion tests that cut one short (a client that
// disconnects, a deadline that passes) read the decoder-step counter before and after.
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { waitFor } from './wait.js';

/** 64 prompts × n = 2 antidistillation sequences: about LONG_GENERATION_STEPS decoder steps uncut. */
export const LONG_GENERATION = {
  prompt: Array.from({ length: 64 }, (_, i) => `Q:${10_000 + i}+${20_000 + i}=`),
  n: 2,
  temperature: 1,
  seed: 1,
  antidistillation: { lambda: 1 },
};
export const LONG_GENERATION_STEPS = 128 * 60 * 3;

/** Decoder steps run so far (teacher and proxies), from /metrics. */
export async function decoderSteps(app: FastifyInstance): Promise<number> {
  const metrics = (await app.inject('/metrics')).body;
  return Number(/^meanserve_decoder_steps_total (\d+)/m.exec(metrics)?.[1] ?? 0);
}

/**
 * Waits until no generation is active, then checks that decoding stays stopped and that fewer than
 * `fraction` of LONG_GENERATION_STEPS ran since `before`.
 */
export async function assertDecodingStopped(
  app: FastifyInstance,
  before: number,
  fraction: number,
): Promise<void> {
  await waitFor('the generation to stop', async () =>
    /^meanserve_generations_active 0$/m.test((await app.inject('/metrics')).body),
  );
  const stopped = await decoderSteps(app);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(await decoderSteps(app), stopped, 'no decoding after the stop');
  assert.ok(stopped - before < LONG_GENERATION_STEPS * fraction, `${stopped - before} steps ran`);
}
