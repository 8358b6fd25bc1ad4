// Resolving a completion's models: the teacher, its vocabulary and, for antidistillation, the proxy pair.
// Everything a client can get wrong is a 400 or 422 naming the field, before any decoding starts.
import { join } from 'node:path';
import { InvalidInputError, UnprocessableError } from '../../errors.js';
import type { LanguageModelSpec, ManifestEntry, ModelLookup } from '../../schemas/manifest.js';
import type { AntidistillationSettings } from './generate.js';
import type { LambdaSchedule } from './logits-processors.js';
import { Vocabulary } from './vocabulary.js';

export const DEFAULT_TEACHER = 'arithmetic-teacher';

export interface AntidistillationInput {
  lambda: number;
  epsilon?: number;
  proxy?: string;
  permute?: boolean;
  lambda_schedule?: LambdaSchedule;
}

export interface ResolvedModels {
  teacher: ManifestEntry;
  vocabulary: Vocabulary;
  /** Present when the request tilts with λ > 0 somewhere in the completion. */
  pair?: { name: string; epsilon: number; plus: ManifestEntry; minus: ManifestEntry };
  antidistillation?: AntidistillationSettings;
}

const vocabularies = new Map<string, Vocabulary>();

/** The vocabulary of a language model, read once per spec file. */
export function vocabularyOf(modelsDir: string, spec: Pick<LanguageModelSpec, 'vocabulary'>): Vocabulary {
  const path = join(modelsDir, spec.vocabulary);
  let vocabulary = vocabularies.get(path);
  if (vocabulary === undefined) {
    vocabulary = Vocabulary.read(path);
    vocabularies.set(path, vocabulary);
  }
  return vocabulary;
}

export function languageModelOf(entry: ManifestEntry, path: string): LanguageModelSpec {
  if (entry.language_model === undefined) {
    throw new UnprocessableError(`model ${entry.name} is not a language model`, [
      { path, message: 'must name a language model (task text-generation in GET /v1/models)' },
    ]);
  }
  return entry.language_model;
}

/**
 * The teacher and, when λ > 0, the proxy pair. `base` is the JSON pointer of the object holding `model`,
 * `temperature` and `antidistillation` (/body, or /body/params in a job).
 */
export function resolveModels(
  lookup: ModelLookup,
  modelsDir: string,
  request: { model?: string; temperature: number; antidistillation?: AntidistillationInput },
  base: string,
): ResolvedModels {
  const teacher = lookup(request.model ?? DEFAULT_TEACHER);
  const spec = languageModelOf(teacher, `${base}/model`);
  const vocabulary = vocabularyOf(modelsDir, spec);
  const ads = request.antidistillation;
  if (ads === undefined || (ads.lambda === 0 && (ads.lambda_schedule?.end ?? 0) === 0)) {
    return { teacher, vocabulary };
  }
  const at = `${base}/antidistillation`;
  if (request.temperature === 0) {
    throw new InvalidInputError('antidistillation sampling needs a temperature above 0', [
      { path: `${base}/temperature`, message: 'must be > 0 when antidistillation tilts (λ > 0)' },
    ]);
  }
  const pairs = spec.proxies ?? [];
  const pair = ads.proxy === undefined ? pairs[0] : pairs.find((candidate) => candidate.name === ads.proxy);
  if (pair === undefined) {
    const known = pairs.map((candidate) => candidate.name).join(', ') || 'none';
    throw new InvalidInputError(`model ${teacher.name} has no proxy '${ads.proxy ?? ''}'`, [
      { path: `${at}/proxy`, message: `must be one of this teacher's proxies: ${known}` },
    ]);
  }
  if (ads.epsilon !== undefined && Math.abs(ads.epsilon - pair.epsilon) > 1e-12 * pair.epsilon) {
    throw new InvalidInputError(`proxy ${pair.name} is prepared for epsilon ${pair.epsilon}`, [
      { path: `${at}/epsilon`, message: `must be ${pair.epsilon}, the perturbation of the proxy pair` },
    ]);
  }
  return {
    teacher,
    vocabulary,
    pair: { name: pair.name, epsilon: pair.epsilon, plus: lookup(pair.plus), minus: lookup(pair.minus) },
    antidistillation: {
      lambda: ads.lambda,
      epsilon: pair.epsilon,
      permute: ads.permute ?? false,
      ...(ads.lambda_schedule === undefined ? {} : { lambda_schedule: ads.lambda_schedule }),
    },
  };
}

/** Prompt ids (<bos> first) checked against the vocabulary and the context window. */
export function encodePrompt(vocabulary: Vocabulary, prompt: string, path: string): number[] {
  const ids = [vocabulary.bos, ...vocabulary.encode(prompt, path)];
  if (ids.length >= vocabulary.contextLength) {
    throw new InvalidInputError(
      `prompt of ${ids.length} tokens fills the ${vocabulary.contextLength}-token context`,
      [{ path, message: `must be under ${vocabulary.contextLength - 1} characters` }],
    );
  }
  return ids;
}

/** max_tokens, defaulting to the rest of the context; more than fits is a 400 naming the field at `path`. */
export function tokensToGenerate(
  vocabulary: Vocabulary,
  promptIds: readonly number[],
  maxTokens: number | undefined,
  path: string,
): number {
  const room = vocabulary.contextLength - promptIds.length;
  if (maxTokens === undefined) return room;
  if (maxTokens > room) {
    throw new InvalidInputError(
      `${path.split('/').pop()} ${maxTokens} with a ${promptIds.length}-token prompt exceeds the ${vocabulary.contextLength}-token context`,
      [{ path, message: `must be at most ${room} for this prompt` }],
    );
  }
  return maxTokens;
}
