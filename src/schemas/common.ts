// Small bounded schema primitives shared by every route, and the RFC 9457 problem shape.
import { type ObjectOptions, type TSchema, type TString, Type } from '@sinclair/typebox';

/** The side of the images every image model here takes and makes (Fashion-MNIST's 28×28). */
export const IMAGE_SIDE = 28;

/**
 * Answers of this many bytes or more are charged to the budget of answers being sent at once
 * (DOWNLOAD_BUDGET_BYTES, server/plugins/answer-budget.ts); smaller ones never pile up to much.
 */
export const LARGE_ANSWER_BYTES = 1024 * 1024;

/**
 * An object of any keys that `keys` accepts, each holding a `values`. TypeBox's own Record drops the key
 * schema's limits (a maxLength or pattern on its key string is never checked): propertyNames keeps them.
 */
export const MapOf = <V extends TSchema>(keys: TString, values: V, options: ObjectOptions = {}) =>
  Type.Record(Type.String(), values, { ...options, propertyNames: keys });

export const ModelName = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
  description: 'Model name as listed by GET /v1/models.',
  examples: ['spiral-mlp'],
});

export const ModelVersion = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9._-]+$',
  description: 'Model version; the newest is used when absent.',
  examples: ['1'],
});

export const Seed = Type.Integer({
  minimum: 0,
  maximum: 2 ** 32 - 1,
  description: 'Random seed (0 … 2^32−1). Generated and returned when absent.',
  examples: [42],
});

export const Limit = Type.Integer({
  minimum: 1,
  maximum: 500,
  default: 50,
  description: 'Most items returned.',
});

/** The empty answer of a 204. */
export const NoContent = Type.Null();

export const FieldErrorSchema = Type.Object({
  path: Type.String({ description: 'JSON pointer into the request: /body/…, /query/…, /params/…' }),
  message: Type.String(),
});

export const Problem = Type.Object(
  {
    type: Type.String({ examples: ['urn:meanserve:problem:invalid-input'] }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String(),
    errors: Type.Optional(Type.Array(FieldErrorSchema)),
    error: Type.Optional(
      Type.Union([
        Type.String({ description: 'Open Inference Protocol error text (under /v2).' }),
        Type.Object(
          {
            message: Type.String(),
            type: Type.String(),
            param: Type.Union([Type.String(), Type.Null()]),
            code: Type.String(),
          },
          { description: 'OpenAI error object (on the OpenAI-compatible routes).' },
        ),
      ]),
    ),
  },
  { description: 'RFC 9457 problem details (application/problem+json).' },
);

/** Response map entries for the error statuses a route can answer. */
export function problems(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((status) => [status, Problem]));
}
