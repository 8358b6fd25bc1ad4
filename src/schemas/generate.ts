// Schemas of Triton's generate extension (triton-inference-server/server, docs/protocol/extension_generate.md):
// POST /v2/models/{name}[/versions/{version}]/generate and /generate_stream over the language models, text in
// and text out, as Triton serves its LLMs to genai-perf and other clients of that protocol. Its parameters are
// scalars (string, number or boolean); meanserve's are the completions sampler's.
import { Type } from '@sinclair/typebox';
import { Seed } from './common.js';
import { FrequencyPenalty, MAX_LAMBDA, PresencePenalty, SamplingFields } from './completions.js';

export const GenerateParameters = Type.Object(
  {
    max_tokens: SamplingFields.max_tokens,
    temperature: Type.Optional(
      Type.Number({ minimum: 0, maximum: 4, description: 'τ, default 1; 0 greedy.' }),
    ),
    top_p: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'Default 1.' })),
    seed: Type.Optional(Seed),
    stop: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 32,
        description: 'A sequence that ends generation, not returned.',
      }),
    ),
    frequency_penalty: Type.Optional(FrequencyPenalty),
    presence_penalty: Type.Optional(PresencePenalty),
    antidistillation_lambda: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: MAX_LAMBDA,
        description:
          "λ of antidistillation sampling with the teacher's first proxy pair (needs temperature > 0).",
      }),
    ),
    stream: Type.Optional(
      Type.Boolean({
        description: 'Accepted as Triton accepts it; the path decides (generate_stream streams).',
      }),
    ),
  },
  { additionalProperties: false, description: 'Sampling settings, as /v1/completions names them.' },
);

export const GenerateBody = Type.Object(
  {
    text_input: Type.String({
      maxLength: 256,
      description: 'The prompt, in the model vocabulary (the arithmetic teacher: Q:4817+2956=).',
    }),
    parameters: Type.Optional(GenerateParameters),
  },
  {
    additionalProperties: false,
    examples: [
      { text_input: 'Q:4817+2956=', parameters: { temperature: 0 } },
      { text_input: 'Q:90719*8=', parameters: { temperature: 1, seed: 7, antidistillation_lambda: 0.1 } },
    ],
  },
);

export const GenerateReply = Type.Object({
  model_name: Type.String(),
  model_version: Type.String(),
  text_output: Type.String({ description: 'The completion (in a stream: the next piece of it).' }),
  finish_reason: Type.Union([Type.Literal('stop'), Type.Literal('length')]),
  seed: Type.Integer({ description: 'The seed used (generated when the request had none).' }),
});
