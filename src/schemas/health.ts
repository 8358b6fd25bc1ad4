// Liveness and readiness answers, and the metrics text.
import { Type } from '@sinclair/typebox';

export const Live = Type.Object({ status: Type.Literal('live') }, { examples: [{ status: 'live' }] });

export const Ready = Type.Object(
  {
    status: Type.Union([Type.Literal('ready'), Type.Literal('not ready')]),
    reasons: Type.Array(Type.String(), { description: 'Why the service is not ready; empty when ready.' }),
    queue: Type.String({ description: 'Job queue backend: inline or bullmq.' }),
  },
  {
    examples: [
      { status: 'ready', reasons: [], queue: 'inline' },
      { status: 'not ready', reasons: ['model spiral-mlp@1: loading'], queue: 'inline' },
    ],
  },
);

export const MetricsText = Type.String({
  examples: ['# HELP meanserve_http_requests_total HTTP requests answered\n'],
});
