// antidistill.traces: many completions with the completions sampler (antidistillation included), decoded
// on this thread with each model's key/value cache. Writes traces.jsonl, one line per completion in
// choice order; drawn arithmetic problems are graded. Same params and seed → the same traces, and the same
// texts as POST /v1/completions with these prompts and seed.
import { answerOf, gradedAnswer, type Problem } from '../../models/lm/arithmetic-problems.js';
import { runCompletion } from '../../models/lm/completions.js';
import type { Generated } from '../../models/lm/generate.js';
import { planTraces, type TracesParams } from '../../models/lm/traces.js';
import { LocalModels } from '../../models/local-models.js';
import type { ManifestEntry } from '../../models/manifest.js';
import { JobCancelledError, JobInputError, type Processor } from '../processor.js';

export const antidistillTraces: Processor = async (rawParams, context) => {
  const params = rawParams as TracesParams;
  const models = new LocalModels(context.models);
  try {
    let planned: ReturnType<typeof planTraces>;
    try {
      planned = planTraces(params, await models.lookup(), context.models.modelsDir, context.seed);
    } catch (error) {
      throw new JobInputError((error as Error).message);
    }
    const { plan, problems } = planned;
    const { teacher, pair } = plan.models;
    const problemOf = (index: number): Problem | undefined => problems?.[Math.floor(index / params.n)];
    const isCorrect = (index: number, text: string) => {
      const problem = problemOf(index);
      return problem === undefined ? undefined : gradedAnswer(text) === answerOf(problem);
    };
    const total = plan.sequences.length;
    let done = 0;
    let tokens = 0;
    let correct = 0;
    const started = performance.now();
    const results = await runCompletion(
      plan,
      (entries) => Promise.all(entries.map((entry) => models.decoder(entry))),
      {
        onDone: (index: number, result: Generated) => {
          done++;
          tokens += result.completionTokens;
          if (isCorrect(index, result.text) === true) correct++;
          context.progress({ fraction: done / total, message: `${done} of ${total} traces` });
        },
      },
      context.signal,
    ).catch((error: Error) => {
      throw context.signal.aborted ? new JobCancelledError() : error;
    });
    const seconds = (performance.now() - started) / 1000;
    const prompts = params.prompts ?? (problems ?? []).map((p) => `Q:${p.a}${p.op}${p.b}=`);
    const lines = results.map((result, index) => {
      const problem = problemOf(index);
      const line = {
        index,
        prompt: prompts[Math.floor(index / params.n)],
        completion: result.text,
        finish_reason: result.finishReason,
        ...(problem === undefined
          ? {}
          : { answer: answerOf(problem), correct: isCorrect(index, result.text) }),
      };
      return `${JSON.stringify(line)}\n`;
    });
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
