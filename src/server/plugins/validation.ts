// Two validators: request bodies are checked strictly (no type coercion: "3" is not a number, unknown fields
// are refused), while querystrings, path params and headers — always strings on the wire — are coerced.
import { Ajv, type ErrorObject, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { FieldError } from '../errors.js';

// discriminator: tagged unions (src/routes/schemas/tagged-union.ts) validate only the branch their tag names.
const COMMON: Options = {
  allErrors: true,
  useDefaults: true,
  removeAdditional: false,
  strict: false,
  discriminator: true,
};

export function makeAjv(coerceTypes: boolean): Ajv {
  const ajv = new Ajv({ ...COMMON, coerceTypes: coerceTypes ? 'array' : false });
  addFormats.default(ajv);
  return ajv;
}

/** Ajv errors → field paths under `prefix` (/body, /query, /body/params …), naming the property that a
 * `required` or `additionalProperties` error is about. */
export function fieldErrors(issues: readonly ErrorObject[], prefix: string): FieldError[] {
  return issues.map((issue) => {
    const path = `${prefix}${issue.instancePath}`;
    const params = issue.params as Record<string, unknown>;
    if (typeof params.missingProperty === 'string')
      return { path: `${path}/${params.missingProperty}`, message: 'is required' };
    if (typeof params.additionalProperty === 'string') {
      return {
        path: `${path}/${params.additionalProperty}`,
        message: 'unknown field (unknown fields are rejected)',
      };
    }
    return { path, message: issue.message ?? 'is invalid' };
  });
}

async function validationPlugin(app: FastifyInstance): Promise<void> {
  const strict = makeAjv(false);
  const coercing = makeAjv(true);
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? strict : coercing).compile(schema as object),
  );
}

export default fp(validationPlugin, { name: 'validation' });
