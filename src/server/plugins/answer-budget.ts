// A budget for the large answers being sent at once (DOWNLOAD_BUDGET_BYTES). An answer is held whole until
// its client has read it, and a client can ask for one cheaply and read nothing: a hundred that asked for a
// 30 MB job artifact held 3 GB, and sixty that each sent a 50-byte search for 1 000 points with 30 KB
// payloads (a 30 MB answer) took the server from 0.6 to 4.3 GB. An answer is charged its size until its
// response closes; one that would pass the budget is answered 503 instead, unless nothing else is charged.
// Routes that know an answer's size before building it (an artifact from its listing, a search from its
// payloads' sizes) reserve it first (reply.reserveAnswer), so a refused one costs nothing to build; every
// other answer of LARGE_ANSWER_BYTES or more is charged as it is sent. A streamed answer (a completion's
// events) is never held whole: what it holds is what its client has not read yet, charged as it changes
// (reply.chargeUnread), and a stream the budget refuses more is ended by its writer.
import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { OverloadedError } from '../../errors.js';
import { ByteBudget } from '../../lib/byte-budget.js';
import { LARGE_ANSWER_BYTES } from '../../schemas/common.js';

declare module 'fastify' {
  interface FastifyReply {
    /** Charges `bytes` of answer until this response closes; 503 (OverloadedError) past the budget. */
    reserveAnswer(bytes: number): void;
    /**
     * For a streamed answer: sets its charge to the `bytes` written but not yet taken by the client, until
     * this response closes. False, the charge unchanged, when more would pass the budget.
     */
    chargeUnread(bytes: number): boolean;
  }
}

export interface AnswerBudgetOptions {
  /** Bytes of large answers held at once; 0 turns the budget off. */
  bytes: number;
}

async function answerBudgetPlugin(app: FastifyInstance, options: AnswerBudgetOptions): Promise<void> {
  const budget = new ByteBudget(options.bytes);
  /** Replies whose answer was reserved before it was built: not charged again as it is sent. */
  const reserved = new WeakSet<FastifyReply>();
  const charge = (reply: FastifyReply, bytes: number): OverloadedError | undefined => {
    if (!budget.fits(bytes)) {
      app.metrics.rejected('overloaded', reply.request.apiKeyName);
      return new OverloadedError(
        `answers of ${budget.held} bytes are being sent, and this one's ${bytes} would pass the ${budget.limit}-byte budget (DOWNLOAD_BUDGET_BYTES); retry shortly`,
      );
    }
    budget.hold(bytes, reply.raw);
    reserved.add(reply);
    return undefined;
  };
  app.decorateReply('reserveAnswer', function reserveAnswer(this: FastifyReply, bytes: number) {
    const refusal = charge(this, bytes);
    if (refusal !== undefined) throw refusal;
  });
  const unread = new WeakMap<FastifyReply, (bytes: number) => boolean>();
  app.decorateReply('chargeUnread', function chargeUnread(this: FastifyReply, bytes: number) {
    let charge = unread.get(this);
    if (charge === undefined) {
      charge = budget.track(this.raw);
      unread.set(this, charge);
    }
    if (charge(bytes)) return true;
    app.metrics.rejected('overloaded', this.request.apiKeyName);
    return false;
  });
  // A callback hook: every answer passes here, and an async one costs a promise and a microtask.
  app.addHook('onSend', (_request, reply, payload, done) => {
    // A string's length, not its UTF-8 size: no scan of a 30 MB answer, and near enough for a budget.
    const bytes = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload.length : 0;
    if (bytes < LARGE_ANSWER_BYTES || reserved.has(reply) || options.bytes === 0) {
      done(null, payload);
      return;
    }
    const refusal = charge(reply, bytes);
    if (refusal === undefined) done(null, payload);
    else done(refusal);
  });
}

export default fp(answerBudgetPlugin, { name: 'answer-budget' });
