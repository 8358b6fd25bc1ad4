// What decoding reports to metrics, as vLLM reports it (vllm-project/vllm, vllm/v1/metrics/loggers.py): prompt and generation
// tokens, time to first token, time between tokens, and sequences waiting for and holding a decoder — per
// teacher model and mode, so antidistillation's cost (three decoder steps a token) shows beside plain
// sampling.
import type { CompletionPlan } from './completions.js';

export type GenerationMode = 'plain' | 'antidistillation';

export interface GenerationLabels {
  model: string;
  mode: GenerationMode;
}

export type TokenKind = 'prompt' | 'generation';

export interface GenerationMetrics {
  tokens(labels: GenerationLabels, kind: TokenKind, count: number): void;
  sequences(labels: GenerationLabels, state: 'waiting' | 'running', change: number): void;
  /** From the start of the request's decoding to a sequence's first token. */
  firstToken(labels: GenerationLabels, seconds: number): void;
  /** Between two tokens of one sequence. */
  interToken(labels: GenerationLabels, seconds: number): void;
}

export interface RunObserver {
  onStart(index: number): void;
  onToken(index: number): void;
  onDone(index: number): void;
  /** Once the run settles, however: sequences still counted as waiting or running are taken off. */
  end(): void;
}

/** Callbacks for runCompletion that report one request's sequences to `metrics`. */
export function observeRun(
  plan: CompletionPlan,
  labels: GenerationLabels,
  metrics: GenerationMetrics,
): RunObserver {
  const started = performance.now();
  const lastToken = new Map<number, number>();
  let waiting = plan.sequences.length;
  let running = 0;
  metrics.tokens(labels, 'prompt', plan.promptTokens);
  metrics.sequences(labels, 'waiting', waiting);
  return {
    onStart: () => {
      waiting--;
      running++;
      metrics.sequences(labels, 'waiting', -1);
      metrics.sequences(labels, 'running', 1);
    },
    onToken: (index) => {
      const now = performance.now();
      const previous = lastToken.get(index);
      if (previous === undefined) metrics.firstToken(labels, (now - started) / 1000);
      else metrics.interToken(labels, (now - previous) / 1000);
      lastToken.set(index, now);
      metrics.tokens(labels, 'generation', 1);
    },
    onDone: () => {
      running--;
      metrics.sequences(labels, 'running', -1);
    },
    end: () => {
      metrics.sequences(labels, 'waiting', -waiting);
      metrics.sequences(labels, 'running', -running);
      waiting = 0;
      running = 0;
    },
  };
}
