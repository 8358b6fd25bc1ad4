// Problems of the arithmetic task for the antidistillation.traces job: the same distribution and the same
// operand-pair split as training/arithmetic_task.py (models/arithmetic-task/spec.json), drawn with the
// job's seeded generator. The split is decided by md5 of '<a><op><b>', never by the trace.
import { createHash } from 'node:crypto';
import type { Random } from '../../lib/random.js';

export type Split = 'train' | 'holdout' | 'test';
export interface Problem {
  a: number;
  op: '+' | '*';
  b: number;
}

/** Bucket ranges of each split, from the spec file. */
export type SplitRanges = Record<Split, [number, number]>;

export function splitOf(problem: Problem, ranges: SplitRanges): Split {
  const digest = createHash('md5').update(`${problem.a}${problem.op}${problem.b}`).digest('hex');
  const bucket = Number.parseInt(digest.slice(0, 8), 16) % 100;
  for (const split of ['test', 'holdout', 'train'] as const) {
    const [low, high] = ranges[split];
    if (low <= bucket && bucket < high) return split;
  }
  throw new Error(`bucket ${bucket} is in no split`);
}

export const promptOf = (problem: Problem) => `Q:${problem.a}${problem.op}${problem.b}=`;
export const answerOf = (problem: Problem) =>
  problem.op === '+' ? problem.a + problem.b : problem.a * problem.b;

/** The integer after the last 'A:' of a completion (what grading reads), or undefined. */
export function gradedAnswer(completion: string): number | undefined {
  const at = completion.lastIndexOf('A:');
  if (at < 0) return undefined;
  const digits = /^\d+/.exec(completion.slice(at + 2));
  return digits === null ? undefined : Number(digits[0]);
}

function randomNumber(random: Random, digits: number): number {
  const low = digits > 1 ? 10 ** (digits - 1) : 0;
  return low + random.nextInt(10 ** digits - low);
}

/** Half additions (operands of up to `digits` digits, in random order), half products by one digit. */
function sampleProblem(random: Random, minDigits: number, maxDigits: number): Problem {
  const digits = minDigits + random.nextInt(maxDigits - minDigits + 1);
  if (random.nextInt(2) === 0) {
    let a = randomNumber(random, digits);
    let b = randomNumber(random, 1 + random.nextInt(digits));
    if (random.nextInt(2) === 0) [a, b] = [b, a];
    return { a, op: '+', b };
  }
  return { a: randomNumber(random, digits), op: '*', b: random.nextInt(10) };
}

/** `count` distinct problems of one split; fails when the digit range cannot supply that many. */
export function sampleProblems(
  random: Random,
  options: { count: number; split: Split; minDigits: number; maxDigits: number },
  ranges: SplitRanges,
): Problem[] {
  const seen = new Set<string>();
  const problems: Problem[] = [];
  for (let tries = 0; problems.length < options.count; tries++) {
    if (tries > 100 * options.count + 10_000) {
      throw new Error(
        `only ${problems.length} distinct ${options.split} problems of ${options.minDigits}-${options.maxDigits} digits were found`,
      );
    }
    const problem = sampleProblem(random, options.minDigits, options.maxDigits);
    const key = promptOf(problem);
    if (seen.has(key) || splitOf(problem, ranges) !== options.split) continue;
    seen.add(key);
    problems.push(problem);
  }
  return problems;
}
