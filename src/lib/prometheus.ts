// Metrics every meanserve process exports — the API at GET /metrics, a BullMQ worker at
// WORKER_METRICS_PORT — each on a registry of its own.
import client from 'prom-client';

export const METRIC_PREFIX = 'meanserve_';

/**
 * prom-client's default process and Node metrics, prefixed, less three gauges whose `_total` names break
 * Prometheus's naming rules (`promtool check metrics`: a non-counter must not end in _total). Their
 * by-type siblings (`…_active_handles`, `…_active_requests`, `…_active_resources`) stay and sum to them.
 */
export function registerDefaultMetrics(registry: client.Registry): void {
  client.collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) {
    registry.removeSingleMetric(`${METRIC_PREFIX}nodejs_${name}`);
  }
}

export type TokenCounters = Record<'prompt' | 'generation', client.Counter<'model' | 'mode'>>;

/** Language-model tokens, as vLLM counts them (prompt_tokens_total, generation_tokens_total). */
export function tokenCounters(registry: client.Registry): TokenCounters {
  const counter = (kind: string, help: string) =>
    new client.Counter({
      name: `${METRIC_PREFIX}${kind}_tokens_total`,
      help,
      labelNames: ['model', 'mode'] as const,
      registers: [registry],
    });
  return {
    prompt: counter(
      'prompt',
      'Prompt tokens decoded (<bos> included, each prompt once), by teacher model and mode (plain or antidistillation).',
    ),
    generation: counter(
      'generation',
      'Tokens sampled (<eos> included), by teacher model and mode; completions and antidistill.traces jobs.',
    ),
  };
}
