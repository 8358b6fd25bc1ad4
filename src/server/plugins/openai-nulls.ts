// OpenAI's API takes null for an optional field as not given, and its SDKs' types let a program send it
// (`temperature?: number | null`, `stop?: string | null | string[]`, `max_tokens`, `seed`, `metadata`,
// `service_tier`, …): `temperature: config.temperature ?? null` typechecks against the SDK. On the
// OpenAI-compatible routes a top-level null is therefore removed before validation, so the field's default
// applies and a field this server does not serve, sent as null, asks for nothing. Any other value is
// validated as before: an unknown field with a value is still a 400 naming it.
import type { FastifyInstance, preValidationHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { takesNullAsAbsent } from './route-policy.js';

const dropNulls: preValidationHookHandler = (request, _reply, done) => {
  const body = request.body;
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const fields = body as Record<string, unknown>;
    for (const key of Object.keys(fields)) if (fields[key] === null) delete fields[key];
  }
  done();
};

async function openAiNullsPlugin(app: FastifyInstance): Promise<void> {
  // Added to the OpenAI-compatible routes only, as they are declared: no other route pays for it.
  app.addHook('onRoute', (route) => {
    if (!takesNullAsAbsent(route.method, route.config)) return;
    route.preValidation = [route.preValidation ?? []].flat().concat(dropNulls);
  });
}

export default fp(openAiNullsPlugin, { name: 'openai-nulls' });
