// The antidistill.traces job type: prompts (given, or arithmetic problems drawn from a split) and the
// completion sampler's settings, planned exactly as POST /v1/completions plans them.
import { type Static, Type } from '@sinclair/typebox';
import { InvalidInputError } from '../../errors.js';
import { deriveSeed, Random } from '../../lib/random.js';
import { type Problem, promptOf, sampleProblems } from '../../models/lm/arithmetic-problems.js';
import { type CompletionPlan, planCompletion } from '../../models/lm/completions.js';
import { DEFAULT_TEACHER, languageModelOf, vocabularyOf } from '../../models/lm/language-models.js';
import { SamplingFields } from '../../schemas/completions.js';
import type { ModelLookup } from '../../schemas/manifest.js';
import type { JobSpec } from '../job-type.js';

export const MAX_TRACES = 50_000;

const Digits = (fallback: number) =>
  Type.Integer({ minimum: 1, maximum: 5, default: fallback, description: 'Digits of the longer operand.' });

export const TracesParams = Type.Object(
  {
    ...SamplingFields,
    prompts: Type.Optional(
      Type.Array(Type.String({ maxLength: 256 }), {
        minItems: 1,
        maxItems: MAX_TRACES,
        description: 'Prompts to complete.',
      }),
    ),
    problems: Type.Optional(
      Type.Object(
        {
          split: Type.Union([Type.Literal('train'), Type.Literal('holdout'), Type.Literal('test')]),
          count: Type.Integer({ minimum: 1, maximum: MAX_TRACES }),
          min_digits: Digits(3),
          max_digits: Digits(5),
        },
        {
          additionalProperties: false,
          description:
            'Distinct arithmetic problems of one split, drawn with the job seed; traces are graded.',
        },
      ),
    ),
    n: Type.Integer({ minimum: 1, maximum: 16, default: 1, description: 'Completions per prompt.' }),
  },
  {
    additionalProperties: false,
    examples: [
      { problems: { split: 'train', count: 2000 }, temperature: 1, antidistillation: { lambda: 0.5 } },
      { prompts: ['Q:4817+2956=', 'Q:90719*8='], temperature: 0 },
    ],
  },
);
export type TracesParams = Static<typeof TracesParams>;

export interface TracesPlan {
  plan: CompletionPlan;
  /** One per prompt (given or drawn), in plan order. */
  prompts: string[];
  /** The drawn problems, when the job grades. */
  problems?: Problem[];
}

/** At submit: the params can be planned (one representative prompt for drawn problems). */
export function checkTracesParams(params: TracesParams, lookup: ModelLookup, modelsDir: string): void {
  const { problems } = params;
  if ((params.prompts === undefined) === (problems === undefined)) {
    throw new InvalidInputError('give either prompts or problems', [
      { path: '/body/params', message: 'must have exactly one of prompts, problems' },
    ]);
  }
  if (problems !== undefined) {
    if (problems.min_digits > problems.max_digits) {
      throw new InvalidInputError('min_digits is above max_digits', [
        { path: '/body/params/problems/min_digits', message: 'must be at most max_digits' },
      ]);
    }
    const spec = languageModelOf(lookup(params.model ?? DEFAULT_TEACHER), '/body/params/model');
    if (vocabularyOf(modelsDir, spec).spec.split === undefined) {
      throw new InvalidInputError('this model has no problem generator', [
        { path: '/body/params/problems', message: 'the model task has no splits; give prompts' },
      ]);
    }
  }
  const count = (params.prompts?.length ?? problems?.count ?? 0) * params.n;
  if (count > MAX_TRACES) {
    throw new InvalidInputError(`${count} traces exceed ${MAX_TRACES}`, [
      { path: '/body/params/n', message: `prompts × n must be at most ${MAX_TRACES}` },
    ]);
  }
  const longest = problems === undefined ? undefined : Number('9'.repeat(problems.max_digits));
  planTraces(
    {
      ...params,
      ...(longest === undefined ? {} : { prompts: [promptOf({ a: longest, op: '+', b: longest })] }),
    },
    lookup,
    modelsDir,
    0,
  );
}

/** The completion plan of the job (problems drawn from the seed's first derived stream). */
export function planTraces(
  params: TracesParams,
  lookup: ModelLookup,
  modelsDir: string,
  seed: number,
): TracesPlan {
  let problems: Problem[] | undefined;
  let prompts = params.prompts ?? [];
  if (params.problems !== undefined) {
    const spec = languageModelOf(lookup(params.model ?? DEFAULT_TEACHER), '/params/model');
    const ranges = vocabularyOf(modelsDir, spec).spec.split;
    if (ranges === undefined) throw new Error('the model task has no splits');
    problems = sampleProblems(
      new Random(deriveSeed(seed, -1)),
      {
        count: params.problems.count,
        split: params.problems.split,
        minDigits: params.problems.min_digits,
        maxDigits: params.problems.max_digits,
      },
      ranges,
    );
    prompts = problems.map(promptOf);
  }
  const plan = planCompletion(lookup, modelsDir, { ...params, prompt: prompts, seed }, '/body/params', {
    prompt: (i) => `/body/params/prompts/${i}`,
  });
  return problems === undefined ? { plan, prompts } : { plan, prompts, problems };
}

export const antidistillTracesJob: JobSpec<typeof TracesParams> = {
  type: 'antidistill.traces',
  summary:
    'Samples completions of many prompts (given, or arithmetic problems drawn from a split) with the ' +
    'completions sampler, antidistillation included; artifact traces.jsonl, graded when the problems are drawn.',
  params: TracesParams,
  check: (params, { models, modelsDir }) => {
    checkTracesParams(params, models, modelsDir);
  },
};
