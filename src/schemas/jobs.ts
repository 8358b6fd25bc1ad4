// Job request and response shapes.
import { Type } from '@sinclair/typebox';
import { Limit, Seed } from './common.js';

/**
 * Params larger than this, as JSON, are left out of job records — lists, a job's record, its events, the
 * answer to its submission — and served alone at /v1/jobs/{id}/params (paramsBytes says their size): an
 * onnx.batch-infer job may carry 32 MiB of requests, so fifty of them made one list of 1.6 GB (past the
 * longest string V8 can build), and every client following such a job was sent them twice.
 */
export const RECORD_PARAMS_MAX_BYTES = 64 * 1024;

export const JOB_STATES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const JobId = Type.String({
  minLength: 3,
  maxLength: 200,
  pattern: '^[a-z0-9.-]+_[A-Za-z0-9-]+$',
  description: 'Job id: <type>_<uuid>.',
  examples: ['onnx.batch-infer_6f1c2a57-3d0e-4c8e-9a59-0c1b1f0f2f11'],
});

export const JobStateSchema = Type.Union(
  JOB_STATES.map((state) => Type.Literal(state)),
  { description: 'queued → running → completed | failed | cancelled' },
);

export const SubmitBody = Type.Object(
  {
    type: Type.String({ minLength: 1, maxLength: 128, description: 'A type from GET /v1/job-types.' }),
    params: Type.Object(
      {},
      { additionalProperties: true, description: "Checked against the type's params schema." },
    ),
    seed: Type.Optional(Seed),
  },
  {
    additionalProperties: false,
    examples: [
      {
        type: 'onnx.batch-infer',
        seed: 7,
        params: {
          model: 'spiral-mlp',
          requests: [
            { id: 'a', inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [0.3, -0.7] }] },
          ],
        },
      },
    ],
  },
);

const Progress = Type.Object({
  fraction: Type.Number({ minimum: 0, maximum: 1 }),
  message: Type.Optional(Type.String()),
  metrics: Type.Optional(Type.Record(Type.String(), Type.Number())),
});

export const JobSchema = Type.Object(
  {
    id: Type.String(),
    type: Type.String(),
    state: JobStateSchema,
    seed: Type.Integer(),
    params: Type.Optional(
      Type.Unknown({
        description: `Left out when over ${RECORD_PARAMS_MAX_BYTES} bytes as JSON: paramsBytes then says their size, and links.params serves them.`,
      }),
    ),
    paramsBytes: Type.Optional(
      Type.Integer({ description: 'In place of params too large to include: their size as JSON, in bytes.' }),
    ),
    progress: Progress,
    attempts: Type.Integer({ description: 'Tries started so far.' }),
    createdAt: Type.String({ format: 'date-time' }),
    startedAt: Type.Optional(Type.String({ format: 'date-time' })),
    finishedAt: Type.Optional(Type.String({ format: 'date-time' })),
    result: Type.Optional(Type.Unknown()),
    error: Type.Optional(Type.String()),
    artifacts: Type.Array(Type.String()),
    links: Type.Object({
      self: Type.String(),
      events: Type.String(),
      params: Type.Optional(Type.String({ description: 'Where params too large to include are served.' })),
      artifacts: Type.Array(Type.String()),
      plots: Type.Array(Type.String(), {
        description: 'The artifacts that are plots (SVG), to open in a browser.',
      }),
    }),
  },
  {
    examples: [
      {
        id: 'onnx.batch-infer_6f1c2a57-3d0e-4c8e-9a59-0c1b1f0f2f11',
        type: 'onnx.batch-infer',
        state: 'completed',
        seed: 7,
        params: { model: 'spiral-mlp', requests: [] },
        progress: { fraction: 1, message: '1 of 1 requests' },
        attempts: 1,
        createdAt: '2026-11-28T12:00:00.000Z',
        startedAt: '2026-11-28T12:00:00.010Z',
        finishedAt: '2026-11-28T12:00:00.090Z',
        result: { count: 1, artifact: 'responses.json' },
        artifacts: ['responses.json'],
        links: {
          self: '/v1/jobs/onnx.batch-infer_6f1c2a57-3d0e-4c8e-9a59-0c1b1f0f2f11',
          events: '/v1/jobs/onnx.batch-infer_6f1c2a57-3d0e-4c8e-9a59-0c1b1f0f2f11/events',
          artifacts: [
            '/v1/jobs/onnx.batch-infer_6f1c2a57-3d0e-4c8e-9a59-0c1b1f0f2f11/artifacts/responses.json',
          ],
          plots: [],
        },
      },
    ],
  },
);

export const JobList = Type.Object({ data: Type.Array(JobSchema) });

export const JobTypeList = Type.Object(
  {
    data: Type.Array(
      Type.Object({ type: Type.String(), summary: Type.String(), params_schema: Type.Unknown() }),
    ),
  },
  {
    examples: [
      { data: [{ type: 'onnx.batch-infer', summary: 'Runs a registered ONNX model …', params_schema: {} }] },
    ],
  },
);

/** Artifact names a job may give its files (also their names in URLs). */
export const ARTIFACT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export const SubmitHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' }),
  ),
});

export const JobListQuery = Type.Object(
  {
    type: Type.Optional(Type.String({ maxLength: 128 })),
    state: Type.Optional(JobStateSchema),
    limit: Limit,
  },
  { additionalProperties: false },
);

export const JobPath = Type.Object({ id: JobId });
export const ArtifactPath = Type.Object({ id: JobId, name: Type.String({ pattern: ARTIFACT_NAME.source }) });

export const ParamsReply = Type.Unknown({
  description: "The job's params as JSON, exactly as stored.",
  examples: [{ model: 'spiral-mlp', requests: [] }],
});

export const ArtifactReply = Type.String({
  description: 'The artifact bytes, with its content type.',
  examples: ['[{"model_name":"spiral-mlp"}]'],
});

export const JobEventStream = Type.String({
  description: 'text/event-stream',
  examples: ['event: progress\ndata: {"fraction":0.5}\n\n'],
});
