// The JSON body parser of every route: Fastify's own (prototype-poisoning checks included), with the
// structural limits of src/lib/json-limits.ts around it. Depth is checked on the raw bytes before parsing,
// where integer literals a double would round are found too; the rest on the parsed document. A body over
// a limit is a 400 naming the limit and the field.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { InvalidInputError, JsonLimitError } from '../../errors.js';
import { findLimitViolation, type JsonLimits, scanRawJson } from '../../lib/json-limits.js';

type Done = (error: Error | null, document?: unknown) => void;

type Parser = (request: FastifyRequest, bytes: Buffer, done: Done) => void;

declare module 'fastify' {
  interface FastifyInstance {
    /** The limited JSON parser, for routes that find JSON inside another body (OIP binary tensor data). */
    parseJsonBody: Parser;
    /** The same parser under other limits, for a route whose body is larger by design (a model upload). */
    jsonBodyParser(limits: JsonLimits): Parser;
  }
}

async function jsonBodyPlugin(app: FastifyInstance, globalLimits: JsonLimits): Promise<void> {
  const parse = app.getDefaultJsonParser('error', 'error');
  const jsonBodyParser =
    (limits: JsonLimits): Parser =>
    (request, bytes, done) => {
      const scan = scanRawJson(bytes, limits.maxDepth);
      if (scan.tooDeep) {
        const message = `nested deeper than ${limits.maxDepth} levels (JSON_MAX_DEPTH)`;
        done(new JsonLimitError(`the body is ${message}`, [{ path: '/body', message }]), undefined);
        return;
      }
      // Fastify's parser takes Buffers too (secure-json-parse reads either); its type says string.
      parse(request, bytes as unknown as string, (error, document) => {
        if (error !== null) return done(error, undefined);
        const rounded = scan.rounded.length === 0 ? undefined : new Set(scan.rounded);
        const violation = findLimitViolation(document, limits, rounded);
        if (violation === undefined) return done(null, document);
        const path = `/body${violation.pointer}`;
        const detail = `${path} ${violation.message}`;
        const errors = [{ path, message: violation.message }];
        done(
          violation.limit === 'finite-numbers' || violation.limit === 'exact-integers'
            ? new InvalidInputError(detail, errors)
            : new JsonLimitError(detail, errors),
          undefined,
        );
      });
    };
  const parseJsonBody = jsonBodyParser(globalLimits);
  app.decorate('parseJsonBody', parseJsonBody);
  app.decorate('jsonBodyParser', jsonBodyParser);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) =>
    parseJsonBody(request, body as Buffer, done),
  );
}

export default fp(jsonBodyPlugin, { name: 'json-body' });
