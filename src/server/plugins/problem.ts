// RFC 9457 problem details for every 4xx/5xx: validation errors name their field, unknown routes are 404,
// body-size and content-type failures keep Fastify's 413/415, and a 5xx never shows its internals. Clients
// of two ecosystems read their own error shape, so their routes answer it as application/json beside the
// problem members: OpenAI's `{error: {message, type, param, code}}` on the OpenAI-compatible routes (route
// config `errors: 'openai'`), KServe's `{error: "…"}` under /v2 (the Open Inference Protocol).
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError, type FieldError, isStorageFull, StorageUnavailableError } from '../../errors.js';
import { fieldErrors } from '../../lib/ajv.js';
import type { StorageProbe } from '../../lib/storage-probe.js';
import { errorMediaType } from './route-policy.js';

interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  errors?: FieldError[];
  error?: string | OpenAiError;
}

interface OpenAiError {
  message: string;
  type: string;
  param: string | null;
  code: string;
}

/** OpenAI's error `type` for a status (its SDKs pick the exception class by status; the type is for people). */
function openAiType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** The body field an error is about, as OpenAI names it (`messages.0.content`), or null. */
function openAiParam(errors: FieldError[] | undefined): string | null {
  const path = errors?.[0]?.path;
  if (path === undefined || !path.startsWith('/body/')) return null;
  return path.slice('/body/'.length).replaceAll('/', '.');
}

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  404: 'Not found',
  405: 'Method not allowed',
  406: 'Not acceptable',
  408: 'Request timeout',
  409: 'Conflict',
  413: 'Payload too large',
  414: 'URI too long',
  415: 'Unsupported media type',
  429: 'Too many requests',
  431: 'Request header fields too large',
  500: 'Internal server error',
  503: 'Service unavailable',
  507: 'Insufficient storage',
};

/**
 * A body with one bad item per entry of a 200 000-edge list must not answer with 200 000 errors: the first
 * MAX_LISTED_ERRORS are listed and a last entry counts the rest; the detail is cut at MAX_DETAIL characters.
 */
const MAX_LISTED_ERRORS = 50;
const MAX_DETAIL = 2000;

function listed(errors: FieldError[]): FieldError[] {
  if (errors.length <= MAX_LISTED_ERRORS) return errors;
  const [first] = errors as [FieldError];
  const more = errors.length - MAX_LISTED_ERRORS;
  return [
    ...errors.slice(0, MAX_LISTED_ERRORS),
    { path: first.path, message: `… and ${more} more error${more === 1 ? '' : 's'} not listed` },
  ];
}

function codeFor(status: number): string {
  return (TITLES[status] ?? 'error').toLowerCase().replaceAll(' ', '-');
}

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  problem: {
    status: number;
    code: string;
    title: string;
    detail: string;
    errors?: FieldError[];
    retryAfter?: number;
    /** OpenAI's `error` member too, on a route that is not one of the OpenAI-compatible ones. */
    openAiError?: boolean;
  },
): FastifyReply {
  const body: ProblemBody = {
    type: `urn:meanserve:problem:${problem.code}`,
    title: problem.title,
    status: problem.status,
    detail: problem.detail.length > MAX_DETAIL ? `${problem.detail.slice(0, MAX_DETAIL)} …` : problem.detail,
    instance: request.server.safeUrl(request.url),
  };
  if (problem.errors !== undefined && problem.errors.length > 0) body.errors = listed(problem.errors);
  if (problem.retryAfter !== undefined) reply.header('retry-after', String(problem.retryAfter));
  const { config } = request.routeOptions;
  if (config?.errors === 'openai' || problem.openAiError === true) {
    body.error = {
      message: body.detail,
      type: openAiType(problem.status),
      param: openAiParam(problem.errors),
      code: problem.code,
    };
  } else if (request.url.startsWith('/v2')) {
    body.error = body.detail;
  }
  return reply.code(problem.status).type(errorMediaType(config, request.url)).send(body);
}

function sendAppError(request: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  return sendProblem(request, reply, {
    status: error.status,
    code: error.code,
    title: error.title,
    detail: error.message,
    errors: error.errors,
    retryAfter: error.retryAfter,
  });
}

/**
 * Errors Fastify raises while routing, before any hook runs (a malformed percent-escape in the path, a path
 * parameter over maxParamLength): the same problem+json as every other 4xx. Passed as `frameworkErrors`.
 */
export function frameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 400;
  sendProblem(request, reply, {
    status,
    code: codeFor(status),
    title: TITLES[status] ?? 'Client error',
    detail: error.message,
  });
}

/**
 * A request Node could not read as HTTP/1.1 (Transfer-Encoding beside Content-Length, a malformed header,
 * headers past 16 KiB) or whose headers did not arrive in time: problem+json like every other 4xx (Fastify's
 * own answer was `{"error":"Bad Request","message":"Client Error"}`), naming the parser's reason, and the
 * connection closed, as nothing after the fault can be trusted to start a request. No route was found, so
 * no route family's error shape applies. Passed as `clientErrorHandler`.
 */
export function clientError(
  this: FastifyInstance,
  error: ConnectionError & { reason?: string },
  socket: Socket,
): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, detail]: [number, string] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'the request did not arrive in time (REQUEST_TIMEOUT_MS; its headers within 60 s)']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'the request line and headers are over 16 KiB']
        : [400, `the request is not valid HTTP/1.1: ${error.reason ?? error.message} (${error.code})`];
  this.log.debug({ err: error }, 'a request that could not be read as HTTP');
  if (socket.writable) {
    const body = JSON.stringify({
      type: `urn:meanserve:problem:${codeFor(status)}`,
      title: TITLES[status],
      status,
      detail,
    });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/problem+json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/**
 * An error no branch above knows: a bug (500), unless the disk under DATA_DIR has failed meanwhile — then
 * it is the disk's (503 storage-unavailable): whatever the call reported, a probe write tells.
 */
async function unexpectedError(
  storage: StorageProbe | undefined,
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const probe = (await storage?.check()) ?? { ok: true };
  if (!probe.ok && !probe.full) {
    request.log.error({ err: error, storage: probe.reason }, 'storage failed: a request could not be served');
    // The code alone: the reason names paths on the server, and a 5xx shows no internals.
    return sendAppError(
      request,
      reply,
      new StorageUnavailableError(
        `the server's disk failed (${probe.code}): nothing was changed, and what is stored there cannot be read now; retry later or on another replica`,
      ),
    );
  }
  request.log.error({ err: error }, 'unhandled error');
  return sendProblem(request, reply, {
    status: 500,
    code: 'internal',
    title: TITLES[500] as string,
    detail: 'an internal error occurred; it has been logged',
  });
}

export interface ProblemOptions {
  /**
   * Whether DATA_DIR still takes writes: an unexpected error while it does not is the disk's. Absent where
   * DATA_DIR holds no state (jobs in Redis, collections in PostgreSQL).
   */
  storage: StorageProbe | undefined;
}

async function problemPlugin(app: FastifyInstance, options: ProblemOptions): Promise<void> {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof AppError) {
      if (error.status >= 500) request.log.warn({ err: error }, 'request refused');
      return sendAppError(request, reply, error);
    }
    if (error.validation !== undefined) {
      const part = error.validationContext === 'querystring' ? 'query' : (error.validationContext ?? 'body');
      const errors = fieldErrors(error.validation, `/${part}`);
      return sendProblem(request, reply, {
        status: 400,
        code: 'invalid-input',
        title: 'Invalid input',
        detail: errors.map((e) => `${e.path}: ${e.message}`).join('; '),
        errors,
      });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return sendProblem(request, reply, {
        status,
        code: codeFor(status),
        title: TITLES[status] ?? 'Client error',
        detail: error.message,
      });
    }
    if (status === 503) {
      return sendProblem(request, reply, {
        status,
        code: 'unavailable',
        title: TITLES[503] as string,
        detail: 'the server is shutting down or overloaded; retry shortly',
        retryAfter: 1,
      });
    }
    if (isStorageFull(error)) {
      request.log.error({ err: error }, 'storage full: a change was not saved');
      return sendProblem(request, reply, {
        status: 507,
        code: 'storage-full',
        title: TITLES[507] as string,
        detail:
          "the server's disk is full: this change was not saved, so it is not acknowledged; retry it once space is freed",
      });
    }
    return unexpectedError(options.storage, error, request, reply);
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, {
      status: 404,
      code: 'not-found',
      title: 'Not found',
      detail: `no route ${request.method} ${request.url.split('?')[0]}; see /docs`,
      // An OpenAI SDK calling an endpoint not served here (images, audio, files, DELETE /v1/models/…) shows
      // the `error` member's message; without it, it read "404 status code (no body)".
      openAiError: request.url.startsWith('/v1/'),
    }),
  );
}

export default fp(problemPlugin, { name: 'problem' });
