// Request bodies sent compressed (RFC 9110 §8.4, Content-Encoding): gzip, deflate (the zlib format, as
// Triton's HTTP client sends with `request_compression_algorithm='deflate'`) and br are decoded as they
// arrive, before any parser reads them; other codings get 415 with Accept-Encoding listing these. Without
// this, a body from tritonclient with request compression, or any client that gzips its uploads, was parsed
// as it came and answered 400 "not valid JSON". The decoded body is held to the route's body limit as it is
// decoded, so a small body that inflates without end (a gzip bomb) is stopped at the limit with 413, and to
// the budget of bodies held at once (BODY_BUDGET_BYTES), charged as it grows past what the request declared.
import { Transform, type TransformCallback } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import {
  InvalidInputError,
  OverloadedError,
  TooLargeError,
  UnsupportedMediaTypeError,
} from '../../errors.js';

const DECODERS = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
} as const;

/** The codings a body may arrive in: the Accept-Encoding of a 415 (RFC 9110 §12.5.3). */
export const ACCEPTED_ENCODINGS = 'gzip, deflate, br';

type Coding = keyof typeof DECODERS;

function isCoding(value: string): value is Coding {
  return Object.hasOwn(DECODERS, value);
}

/** The body budget is charged for decoded bytes in steps of this many past what was charged before. */
const CHARGE_STEP = 1024 * 1024;

/**
 * The decoded bytes, counted: past `limit` it stops with 413, past what the body budget takes with 503.
 * Fastify counts the raw bytes it was sent through `receivedEncodedLength` (against Content-Length and the
 * limit too).
 */
class DecodedBody extends Transform {
  receivedEncodedLength = 0;
  private decoded = 0;

  constructor(
    private readonly limit: number,
    private readonly coding: string,
    /** Bytes the body budget was charged for this request: what it declared, the limit if nothing. */
    private charged: number,
    private readonly growCharge: ((bytes: number) => boolean) | null,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.decoded += chunk.length;
    if (this.growCharge !== null && this.decoded > this.charged) {
      const more = Math.max(CHARGE_STEP, this.decoded - this.charged);
      if (!this.growCharge(more)) {
        callback(
          new OverloadedError(
            `request bodies being handled leave no room for this one's as it decodes (BODY_BUDGET_BYTES); retry shortly`,
          ),
        );
        return;
      }
      this.charged += more;
    }
    if (this.decoded > this.limit) {
      callback(
        new TooLargeError(
          `the body decodes (Content-Encoding: ${this.coding}) to more than this route's limit of ${this.limit} bytes`,
          [{ path: '/body', message: `decodes to more than ${this.limit} bytes` }],
        ),
      );
      return;
    }
    callback(null, chunk);
  }
}

async function contentEncodingPlugin(app: FastifyInstance): Promise<void> {
  // A callback hook: every request passes here, and an async one costs a promise and a microtask.
  app.addHook('preParsing', (request, reply, payload, done) => {
    const header = request.headers['content-encoding'];
    const coding = header?.trim().toLowerCase();
    if (coding === undefined || coding === '' || coding === 'identity') {
      done(null, payload);
      return;
    }
    if (!isCoding(coding)) {
      reply.header('accept-encoding', ACCEPTED_ENCODINGS);
      done(
        new UnsupportedMediaTypeError(
          `Content-Encoding '${header}' is not read here: send the body as it is, or in one of ${ACCEPTED_ENCODINGS}`,
        ),
      );
      return;
    }
    const limit = request.routeOptions.bodyLimit ?? app.initialConfig.bodyLimit ?? Number.POSITIVE_INFINITY;
    const decoder = DECODERS[coding]();
    const declared = Number(request.headers['content-length']);
    const body = new DecodedBody(
      limit,
      coding,
      Number.isSafeInteger(declared) ? declared : limit,
      request.growBodyCharge,
    );
    payload.on('data', (chunk: Buffer) => {
      body.receivedEncodedLength += chunk.length;
    });
    decoder.on('error', (error: Error) => {
      body.destroy(
        new InvalidInputError(`the body is not valid ${coding} data (Content-Encoding): ${error.message}`, [
          { path: '/body', message: `not valid ${coding} data` },
        ]),
      );
    });
    // Once the body is refused, nothing more is decoded: the rest of a bomb is never inflated.
    body.on('error', () => {
      payload.unpipe(decoder);
      decoder.destroy();
    });
    payload.pipe(decoder).pipe(body);
    done(null, body);
  });
}

export default fp(contentEncodingPlugin, { name: 'content-encoding' });
