// POST /v1/responses: OpenAI's Responses API (the one its SDKs' `responses.create` and the Vercel AI SDK's
// default OpenAI model call) over the language models, text in and text out. Tools, stored responses and
// conversation state are not served: fields for them are refused as unknown, as every field we do not know,
// except where a client sends the value that asks for nothing (an empty tool list, `reasoning: {}`).
import { Type } from '@sinclair/typebox';
import { MapOf, Seed } from './common.js';
import { ChatRole, ReplyFields, SamplingFields, UserHints } from './completions.js';

const Text = Type.String({ maxLength: 4096 });

/**
 * A content part of an input message: text the client wrote, or an earlier answer's text sent back as it
 * came (`[...input, ...response.output]`), with the `annotations` and `logprobs` it came with (ignored) and
 * the `parsed: null` the openai SDK's stream helpers add.
 */
const InputPart = Type.Object(
  {
    type: Type.Union([Type.Literal('input_text'), Type.Literal('output_text')]),
    text: Text,
    annotations: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 0 })),
    logprobs: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 4096 })),
    parsed: Type.Optional(Type.Null()),
  },
  { additionalProperties: false },
);

const InputMessage = Type.Object(
  {
    type: Type.Optional(Type.Literal('message')),
    role: ChatRole,
    content: Type.Union([Text, Type.Array(InputPart, { minItems: 1, maxItems: 16 })]),
    id: Type.Optional(Type.String({ maxLength: 128 })),
    status: Type.Optional(Type.String({ maxLength: 32 })),
  },
  { additionalProperties: false },
);

export const ResponseBody = Type.Object(
  {
    model: SamplingFields.model,
    input: Type.Union([Text, Type.Array(InputMessage, { minItems: 1, maxItems: 64 })], {
      description:
        "Text, or messages whose last is the user's: its text fills the model's chat template (the " +
        "arithmetic teacher's is `Q:{content}=`); the teacher keeps no conversation.",
    }),
    instructions: Type.Optional({
      ...Text,
      description: 'A system message: accepted, and no change to the teacher’s answer.',
    }),
    max_output_tokens: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 4096,
        description: "Tokens to generate at most; default the rest of the model's context.",
      }),
    ),
    temperature: SamplingFields.temperature,
    top_p: SamplingFields.top_p,
    stream: Type.Boolean({
      default: false,
      description:
        "Server-sent events of the Responses API's types, from response.created to response.completed.",
    }),
    text: Type.Optional(
      Type.Object(
        {
          format: Type.Optional(Type.Object({ type: Type.Literal('text') }, { additionalProperties: false })),
          verbosity: Type.Optional(
            Type.Union([Type.Literal('medium'), Type.Null()], {
              description:
                'Only `medium`, OpenAI’s default: its models that cannot vary their verbosity refuse the others too.',
            }),
          ),
        },
        {
          additionalProperties: false,
          description: 'Only plain text is produced; LangChain sends `text: {}` for the default.',
        },
      ),
    ),
    store: Type.Optional(
      Type.Literal(false, {
        description: 'Responses are not stored (OpenAI stores by default): `true` is refused.',
      }),
    ),
    reasoning: Type.Optional(
      Type.Object(
        {
          effort: Type.Optional(Type.Null()),
          summary: Type.Optional(Type.Null()),
          generate_summary: Type.Optional(Type.Null()),
        },
        {
          additionalProperties: false,
          description:
            'The teacher does not reason: `{}` (what LlamaIndex sends) and nulls are accepted, an effort or a ' +
            'summary is refused, as OpenAI refuses them for its models that do not reason.',
        },
      ),
    ),
    tools: Type.Optional(
      Type.Array(Type.Unknown(), {
        maxItems: 0,
        description:
          'Tools are not served: only none, the empty list the OpenAI Agents SDK sends for an agent without them.',
      }),
    ),
    truncation: Type.Optional(
      Type.Literal('disabled', {
        description: "OpenAI's default: an input beyond the model's context is a 400, never cut.",
      }),
    ),
    metadata: Type.Optional(
      MapOf(Type.String({ maxLength: 64 }), Type.String({ maxLength: 512 }), {
        maxProperties: 16,
        description: 'Returned with the response.',
      }),
    ),
    include: Type.Optional(
      Type.Array(Type.Literal('message.output_text.logprobs'), {
        maxItems: 4,
        description:
          "Extra output to include: only the output text's log-probabilities (tools and reasoning are not " +
          'served).',
      }),
    ),
    top_logprobs: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 20,
        description:
          'Alternatives per token with include message.output_text.logprobs (the vocabulary has fewer): ' +
          'as on /v1/chat/completions, under the distribution sampled from.',
      }),
    ),
    ...UserHints,
    seed: Type.Optional(Seed),
    antidistillation: SamplingFields.antidistillation,
  },
  {
    additionalProperties: false,
    examples: [
      { input: '4817+2956', temperature: 0 },
      { input: '90719*8', temperature: 1, top_p: 0.95, antidistillation: { lambda: 0.1 }, seed: 7 },
    ],
  },
);

export const OutputMessage = Type.Object({
  type: Type.Literal('message'),
  id: Type.String(),
  status: Type.Union([Type.Literal('in_progress'), Type.Literal('completed'), Type.Literal('incomplete')]),
  role: Type.Literal('assistant'),
  content: Type.Array(
    Type.Object({
      type: Type.Literal('output_text'),
      text: Type.String(),
      annotations: Type.Array(Type.Unknown()),
      logprobs: Type.Array(Type.Unknown()),
    }),
  ),
});

export const ResponseObject = Type.Object({
  id: Type.String({ description: 'resp_…; responses are not stored, so no route reads one back.' }),
  object: Type.Literal('response'),
  created_at: Type.Integer(),
  status: Type.Union([Type.Literal('in_progress'), Type.Literal('completed'), Type.Literal('incomplete')]),
  error: Type.Null(),
  incomplete_details: Type.Union([Type.Object({ reason: Type.Literal('max_output_tokens') }), Type.Null()]),
  instructions: Type.Union([Type.String(), Type.Null()]),
  max_output_tokens: Type.Union([Type.Integer(), Type.Null()]),
  model: Type.String(),
  output: Type.Array(OutputMessage),
  parallel_tool_calls: Type.Boolean(),
  previous_response_id: Type.Null(),
  store: Type.Boolean(),
  temperature: Type.Number(),
  top_p: Type.Number(),
  tool_choice: Type.Literal('none'),
  tools: Type.Array(Type.Unknown(), { maxItems: 0 }),
  text: Type.Object({ format: Type.Object({ type: Type.Literal('text') }) }),
  truncation: Type.Literal('disabled'),
  usage: Type.Union([
    Type.Object({
      input_tokens: Type.Integer(),
      input_tokens_details: Type.Object({ cached_tokens: Type.Integer() }),
      output_tokens: Type.Integer(),
      output_tokens_details: Type.Object({ reasoning_tokens: Type.Integer() }),
      total_tokens: Type.Integer(),
    }),
    Type.Null(),
  ]),
  user: Type.Union([Type.String(), Type.Null()]),
  metadata: Type.Record(Type.String(), Type.String()),
  seed: ReplyFields.seed,
  system_fingerprint: ReplyFields.system_fingerprint,
  models: ReplyFields.models,
  antidistillation: ReplyFields.antidistillation,
});
