// Schemas of POST /v1/completions: OpenAI's completions API (the fields meanserve implements) plus the
// antidistillation object.
import { Type } from '@sinclair/typebox';
import { MapOf, ModelName, Seed } from './common.js';

/** λ is unbounded in the paper; past this the tilt swamps any teacher (see docs/antidistillation.md). */
export const MAX_LAMBDA = 1000;

/** Sequences one request may ask for (prompts × n). */
export const MAX_SEQUENCES = 128;

export const LambdaSchedule = Type.Object(
  {
    end: Type.Number({
      minimum: 0,
      maximum: MAX_LAMBDA,
      description: 'λ from completion token `tokens` on.',
    }),
    tokens: Type.Integer({
      minimum: 1,
      maximum: 4096,
      description: 'Completion tokens λ takes to reach `end`.',
    }),
  },
  {
    additionalProperties: false,
    description:
      'λ per completion token t (0 at the first): lambda + (end − lambda) · min(t / tokens, 1). ' +
      'Without it λ is constant, as in the paper.',
  },
);

export const Antidistillation = Type.Object(
  {
    lambda: Type.Number({
      minimum: 0,
      maximum: MAX_LAMBDA,
      description: 'λ: weight of the proxy-gradient tilt. 0 samples the plain teacher.',
    }),
    epsilon: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 1,
        description: 'ε of the finite difference; must be the one the proxy pair was built with (0.01).',
      }),
    ),
    proxy: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        description: "Proxy student pair; default the teacher's first (GET /v1/models lists them).",
      }),
    ),
    permute: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          'Control: shuffle the tilt across the vocabulary with random signs (same magnitudes, no information).',
      }),
    ),
    lambda_schedule: Type.Optional(LambdaSchedule),
  },
  { additionalProperties: false },
);

/** OpenAI's penalties: the log-probability of a token less the penalty times `what`, before temperature. */
const Penalty = (what: string) =>
  Type.Number({
    minimum: -2,
    maximum: 2,
    description: `Subtracted from a token's log-probability, times ${what} (negative values favour repeats).`,
  });

export const FrequencyPenalty = Penalty('how often the token was sampled in this completion so far');
export const PresencePenalty = Penalty('1 once the token was sampled in this completion');

export const SamplingFields = {
  model: Type.Optional({ ...ModelName, description: 'A language model; default arithmetic-teacher.' }),
  max_tokens: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 4096,
      description: "Tokens to generate at most; default the rest of the model's context (96 tokens).",
    }),
  ),
  temperature: Type.Number({ minimum: 0, maximum: 4, default: 1, description: 'τ; 0 decodes greedily.' }),
  top_p: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 1, description: 'Nucleus sampling mass.' }),
  stop: Type.Optional(
    Type.Union(
      [
        Type.String({ minLength: 1, maxLength: 32 }),
        Type.Array(Type.String({ minLength: 1, maxLength: 32 }), { minItems: 1, maxItems: 4 }),
      ],
      { description: 'Up to 4 sequences that end generation; they are not returned.' },
    ),
  ),
  frequency_penalty: Type.Optional(Type.Union([FrequencyPenalty, Type.Null()])),
  presence_penalty: Type.Optional(Type.Union([PresencePenalty, Type.Null()])),
  logit_bias: Type.Optional(
    Type.Union([
      MapOf(Type.String({ pattern: '^(0|[1-9][0-9]{0,5})$' }), Type.Number({ minimum: -100, maximum: 100 }), {
        maxProperties: 300,
        description:
          "Token id → bias added to the token's log-probability before temperature: −100 bans a token, " +
          "100 all but forces it. The arithmetic vocabulary's ids are listed in docs/api.md.",
      }),
      Type.Null(),
    ]),
  ),
  antidistillation: Type.Optional(Antidistillation),
};

/** OpenAI's end-user id, which its clients may send on every route. */
export const EndUser = Type.Optional(
  Type.String({ maxLength: 256, description: 'Accepted for OpenAI clients; not used.' }),
);

/**
 * The two fields OpenAI's chat and Responses APIs took over from `user` (which they mark deprecated): a
 * client that moved to them is served as one that sends `user`.
 */
export const UserHints = {
  user: EndUser,
  safety_identifier: Type.Optional(
    Type.String({ maxLength: 64, description: "OpenAI's id of an end user for abuse checks; not used." }),
  ),
  prompt_cache_key: Type.Optional(
    Type.String({ maxLength: 256, description: "OpenAI's prompt-cache routing hint; not used." }),
  ),
};

const Prompt = Type.String({
  maxLength: 256,
  description: 'Text in the model vocabulary (arithmetic: 0-9 + * = | A : Q).',
});

export const CompletionBody = Type.Object(
  {
    ...SamplingFields,
    max_tokens: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 4096,
        description:
          "Tokens to generate at most; default the rest of the model's context (96 tokens). 0 with echo " +
          'and logprobs scores the prompt alone.',
      }),
    ),
    prompt: Type.Union([Prompt, Type.Array(Prompt, { minItems: 1, maxItems: MAX_SEQUENCES })]),
    echo: Type.Boolean({
      default: false,
      description:
        "The prompt in front of each choice's text, and with logprobs its tokens' log-probabilities first " +
        '(under the distribution a completion token in their place is drawn from).',
    }),
    n: Type.Integer({ minimum: 1, maximum: 16, default: 1, description: 'Completions per prompt.' }),
    stream: Type.Boolean({ default: false, description: 'Server-sent events in OpenAI chunk format.' }),
    stream_options: Type.Optional(
      Type.Object(
        { include_usage: Type.Optional(Type.Boolean()) },
        {
          additionalProperties: false,
          description: 'include_usage: a last chunk with usage and no choices.',
        },
      ),
    ),
    logprobs: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 5,
        description:
          'Log-probabilities of the sampled tokens and this many alternatives, under the distribution sampled ' +
          'from (temperature and antidistillation tilt applied, top-p not; greedy: the teacher at τ = 1). ' +
          "Never the teacher's own in antidistillation mode.",
      }),
    ),
    seed: Type.Optional(Seed),
    user: EndUser,
  },
  {
    additionalProperties: false,
    examples: [
      { prompt: 'Q:4817+2956=', max_tokens: 60, temperature: 0, seed: 1 },
      { prompt: ['Q:4817*6='], temperature: 1, top_p: 0.95, antidistillation: { lambda: 0.5 }, seed: 7 },
      { prompt: 'Q:12+3=2+3+0=5|1+0+0=1|A:15', echo: true, max_tokens: 0, logprobs: 0, temperature: 0 },
    ],
  },
);

const ModelRef = Type.Object({ name: Type.String(), version: Type.String(), sha256: Type.String() });

export const CompletionLogprobs = Type.Object({
  tokens: Type.Array(Type.String()),
  token_logprobs: Type.Array(Type.Number()),
  top_logprobs: Type.Union([Type.Array(Type.Record(Type.String(), Type.Number())), Type.Null()]),
  text_offset: Type.Array(Type.Integer()),
});

export const Usage = Type.Object({
  prompt_tokens: Type.Integer({ description: 'Prompt tokens with <bos>, each prompt once.' }),
  completion_tokens: Type.Integer({ description: 'Sampled tokens, <eos> included.' }),
  total_tokens: Type.Integer(),
});

/** What every answer names besides its choices: usage, the seed, every model and the antidistillation used. */
export const ReplyFields = {
  usage: Usage,
  seed: Type.Integer({ description: 'The seed used (generated when the request had none).' }),
  system_fingerprint: Type.String({
    description: 'The teacher version and the sha256 prefixes of every model used.',
  }),
  models: Type.Object(
    { teacher: ModelRef, proxy_plus: Type.Optional(ModelRef), proxy_minus: Type.Optional(ModelRef) },
    { description: 'Every model that shaped the text.' },
  ),
  antidistillation: Type.Optional(
    Type.Object({
      lambda: Type.Number(),
      epsilon: Type.Number(),
      proxy: Type.String(),
      permute: Type.Boolean(),
      lambda_schedule: Type.Optional(LambdaSchedule),
    }),
  ),
};

const FinishReason = Type.Union([Type.Literal('stop'), Type.Literal('length')]);

export const CompletionReply = Type.Object({
  id: Type.String(),
  object: Type.Literal('text_completion'),
  created: Type.Integer(),
  model: Type.String(),
  choices: Type.Array(
    Type.Object({
      text: Type.String(),
      index: Type.Integer(),
      logprobs: Type.Union([CompletionLogprobs, Type.Null()]),
      finish_reason: FinishReason,
    }),
  ),
  ...ReplyFields,
});

/** Who wrote a message of a chat (or of a response's input). */
export const ChatRole = Type.Union([
  Type.Literal('system'),
  Type.Literal('developer'),
  Type.Literal('user'),
  Type.Literal('assistant'),
]);

/** An earlier answer's refusal, sent back as it came (ignored: the teacher keeps no conversation). */
const Refusal = Type.Optional(Type.Union([Type.String({ maxLength: 4096 }), Type.Null()]));

const ChatMessage = Type.Object(
  {
    role: ChatRole,
    content: Type.Union([
      Type.String({ maxLength: 4096 }),
      Type.Array(
        Type.Object(
          {
            type: Type.Literal('text'),
            text: Type.String({ maxLength: 4096 }),
            // The OpenAI Agents SDK sends its earlier answers back with the message's role and refusal in
            // each part (its providerData); they are ignored, as the rest of an earlier turn.
            role: Type.Optional(ChatRole),
            refusal: Refusal,
          },
          { additionalProperties: false },
        ),
        { minItems: 1, maxItems: 16 },
      ),
    ]),
    name: Type.Optional(Type.String({ maxLength: 64 })),
    // An answer's message sent back as it came (`messages.push(completion.choices[0].message)`) has
    // `refusal`; the openai SDK's stream helpers add `parsed: null` to the message they accumulate.
    refusal: Refusal,
    parsed: Type.Optional(Type.Null()),
  },
  { additionalProperties: false },
);

export const ChatCompletionBody = Type.Object(
  {
    ...SamplingFields,
    messages: Type.Array(ChatMessage, {
      minItems: 1,
      maxItems: 64,
      description:
        "The last must be the user's: its text fills the model's chat template (the arithmetic teacher's is " +
        '`Q:{content}=`); the teacher keeps no conversation, so earlier turns do not change its answer.',
    }),
    max_completion_tokens: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 4096,
        description: 'The same as max_tokens (OpenAI’s newer name).',
      }),
    ),
    n: Type.Integer({ minimum: 1, maximum: 16, default: 1, description: 'Choices to generate.' }),
    stream: Type.Boolean({
      default: false,
      description: 'Server-sent events of chat.completion.chunk objects.',
    }),
    store: Type.Optional(
      Type.Literal(false, {
        description: 'Completions are not stored (OpenAI’s default; the AI SDK sends it): `true` is refused.',
      }),
    ),
    stream_options: Type.Optional(
      Type.Object({ include_usage: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
    ),
    logprobs: Type.Optional(Type.Boolean({ description: 'Log-probabilities of the sampled tokens.' })),
    top_logprobs: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 20,
        description:
          'Alternatives per token, with logprobs, most likely first (as on /v1/completions: the distribution ' +
          'sampled from); OpenAI allows 20, the arithmetic vocabulary has 17 tokens with text.',
      }),
    ),
    seed: Type.Optional(Seed),
    ...UserHints,
  },
  {
    additionalProperties: false,
    examples: [
      { messages: [{ role: 'user', content: '4817+2956' }], temperature: 0 },
      {
        messages: [{ role: 'user', content: '90719*8' }],
        temperature: 1,
        top_p: 0.95,
        antidistillation: { lambda: 0.1 },
        seed: 7,
      },
      {
        messages: [{ role: 'user', content: '4817+2956' }],
        temperature: 0.7,
        frequency_penalty: 0.5,
        logit_bias: { '2': -100 },
        max_completion_tokens: 30,
        seed: 3,
      },
    ],
  },
);

const TokenLogprob = Type.Object({
  token: Type.String(),
  logprob: Type.Number(),
  bytes: Type.Array(Type.Integer()),
});

export const ChatLogprobs = Type.Object({
  content: Type.Array(Type.Object({ ...TokenLogprob.properties, top_logprobs: Type.Array(TokenLogprob) })),
});

export const ChatCompletionReply = Type.Object({
  id: Type.String(),
  object: Type.Literal('chat.completion'),
  created: Type.Integer(),
  model: Type.String(),
  choices: Type.Array(
    Type.Object({
      index: Type.Integer(),
      message: Type.Object({
        role: Type.Literal('assistant'),
        content: Type.String(),
        refusal: Type.Null(),
      }),
      logprobs: Type.Union([ChatLogprobs, Type.Null()]),
      finish_reason: FinishReason,
    }),
  ),
  ...ReplyFields,
});
