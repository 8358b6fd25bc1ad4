// antidistill.traces: many completions with the completions sampler (antidistillation included), decoded
// on this thread with each model's key/value cache. Writes traces.jsonl, one line per completion in
// choice order; drawn arithmetic problems are graded. Same params and seed → the same traces, and the same
// texts as POST /v1/completions with these prompts and seed. The result reports the sampler's utility cost
// as the paper does: the mean per-token KL of the sampling distribution to the teacher's (and of the tilt
// alone, with antidistillation).

import { JobCancelledError } from '../../lib/cancellation.js';
import { answerOf, gradedAnswer } from '../../models/lm/arithmetic-problems.js';
import { runCompletion } from '../../models/lm/completions.js';
import type { Generated } from '../../models/lm/generate.js';
import { LocalModels } from '../../models/local-models.js';
import type { ManifestEntry } from '../../schemas/manifest.js';
import { planTraces, type TracesParams } from '../params/antidistill-traces.js';
import type { Processor } from '../processor.js';

export const antidistillTraces: Processor<TracesParams> = async (params, context) => {
  const models = new LocalModels(context.models);
  try {
    const { plan, prompts, problems } = planTraces(
      params,
      await models.lookup(),
      context.models.modelsDir,
      context.seed,
    );
    const { teacher, pair } = plan.models;
    const labels = { model: teacher.name, mode: pair === undefined ? 'plain' : 'antidistillation' } as const;
    context.tokens?.({ labels, kind: 'prompt', count: plan.promptTokens });
    const total = plan.sequences.length;
    let done = 0;
    let tokens = 0;
    const started = performance.now();
    const results = await runCompletion(
      plan,
      (entries) => Promise.all(entries.map((entry) => models.decoder(entry))),
      {
        onDone: (_index: number, result: Generated) => {
          done++;
          tokens += result.completionTokens;
          context.tokens?.({ labels, kind: 'generation', count: result.completionTokens });
          context.progress({ fraction: done / total, message: `${done} of ${total} traces` });
        },
      },
      context.signal,
    ).catch((error: Error) => {
      throw context.signal.aborted ? new JobCancelledError() : error;
    });
    const seconds = (performance.now() - started) / 1000;
    const traces = results.map((result, index) => {
      const problem = problems?.[Math.floor(index / params.n)];
      return {
        index,
        prompt: prompts[Math.floor(index / params.n)],
        completion: result.text,
        finish_reason: result.finishReason,
        ...(problem === undefined
          ? {}
          : { answer: answerOf(problem), correct: gradedAnswer(result.text) === answerOf(problem) }),
      };
    });
    const correct = traces.filter((trace) => trace.correct === true).length;
    const utilityCost = meanTokenKl(results);
    const lines = traces.map((trace) => `${JSON.stringify(trace)}\n`);
    const reference = (e: ManifestEntry) => ({ name: e.name, version: e.version, sha256: e.sha256 });
    return {
      result: {
        teacher: reference(teacher),
        ...(pair === undefined
          ? {}
          : { proxy: pair.name, proxy_plus: reference(pair.plus), proxy_minus: reference(pair.minus) }),
        sampling: plan.sampling,
        traces: total,
        completion_tokens: tokens,
        seconds,
        tokens_per_second: tokens / seconds,
        ...(problems === undefined ? {} : { accuracy: correct / total }),
        ...(utilityCost === undefined ? {} : { utility_cost: utilityCost }),
        artifacts: ['traces.jsonl'],
      },
      artifacts: [
        {
          name: 'traces.jsonl',
          contentType: 'application/x-ndjson',
          data: new TextEncoder().encode(lines.join('')),
        },
      ],
    };
  } finally {
    await models.close();
  }
};

/** Per-token means of the sequences' sampling costs (nats); undefined for greedy decoding. */
function meanTokenKl(results: Generated[]) {
  const sampled = results.filter((result) => result.cost !== undefined);
  if (sampled.length === 0) return undefined;
  const tokens = sampled.reduce((sum, result) => sum + result.completionTokens, 0);
  const total = (pick: (cost: NonNullable<Generated['cost']>) => number | undefined) =>
    sampled.reduce((sum, result) => sum + (pick(result.cost as NonNullable<Generated['cost']>) ?? 0), 0) /
    tokens;
  const tilted = sampled[0]?.cost?.tiltKl !== undefined;
  return {
    tokens,
    mean_token_kl_to_teacher: total((cost) => cost.teacherKl),
    ...(tilted ? { mean_token_kl_of_tilt: total((cost) => cost.tiltKl) } : {}),
  };
}
