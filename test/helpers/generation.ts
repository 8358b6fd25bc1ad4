// A long generation and the check that it stopped: the completion tests that cut one short (a client that
// disconnects, a deadline that passes) read the generated-token counter before and after, and check that
// the decoder-step counter stands still once the generation has ended.
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { Decoder } from '../../src/models/lm/decoder.js';
import { waitFor } from './wait.js';

/** 64 prompts × n = 2 antidistillation sequences: 3 447 tokens uncut (measured; the bound below is a little under). */
export const LONG_GENERATION = {
  prompt: Array.from({ length: 64 }, (_, i) => `Q:${10_000 + i}+${20_000 + i}=`),
  n: 2,
  temperature: 1,
  seed: 1,
  antidistillation: { lambda: 1 },
};
export const LONG_GENERATION_TOKENS = 3_400;

/** Decoder steps run so far (batches of every model), from /metrics. */
async function decoderSteps(app: FastifyInstance): Promise<number> {
  const metrics = (await app.inject('/metrics')).body;
  return Number(/^meanserve_decoder_steps_total (\d+)/m.exec(metrics)?.[1] ?? 0);
}

/** Tokens generated so far over every model and mode, from /metrics. */
export async function generatedTokens(app: FastifyInstance): Promise<number> {
  const metrics = (await app.inject('/metrics')).body;
  let total = 0;
  for (const match of metrics.matchAll(/^meanserve_generation_tokens_total\{[^}]*\} (\d+)/gm)) {
    total += Number(match[1]);
  }
  return total;
}

/**
 * Waits until no generation is active, then checks that decoding stays stopped and that fewer than
 * `fraction` of LONG_GENERATION_TOKENS were generated since `before` (a generatedTokens reading).
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
  const tokens = (await generatedTokens(app)) - before;
  assert.ok(tokens < LONG_GENERATION_TOKENS * fraction, `${tokens} tokens were generated`);
}

/**
 * Greedy decoding of `prompt` for `tokens` steps through `decoder` (closed afterwards): the token ids, and
 * every step's logits as raw bytes.
 */
export async function greedyDecode(
  decoder: Decoder,
  prompt: number[],
  tokens: number,
): Promise<{ ids: number[]; logits: Buffer[] }> {
  const ids: number[] = [];
  const logits: Buffer[] = [];
  let next = prompt;
  for (let i = 0; i < tokens; i++) {
    const step = await decoder.step(next);
    logits.push(Buffer.from(step.buffer, step.byteOffset, step.byteLength));
    let best = 0;
    for (let id = 1; id < step.length; id++) if ((step[id] as number) > (step[best] as number)) best = id;
    ids.push(best);
    next = [best];
  }
  decoder.close();
  return { ids, logits };
}
