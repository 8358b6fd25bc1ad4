// Two validators: request bodies are checked strictly (no type coercion: "3" is not a number, unknown fields
// are refused), while querystrings, path params and headers — always strings on the wire — are coerced and
// then checked for the non-finite numbers coercion lets through. The ajv setup itself is src/lib/ajv.ts.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { inputCompiler, refusingNonFinite } from '../../lib/ajv.js';

async function validationPlugin(app: FastifyInstance): Promise<void> {
  const strict = inputCompiler(false);
  const coercing = inputCompiler(true);
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? strict(schema as object) : refusingNonFinite(coercing(schema as object)),
  );
}

export default fp(validationPlugin, { name: 'validation' });
