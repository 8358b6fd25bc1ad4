// Overload shedding: while the event loop has been late for a while or the V8 heap is near its limit, new
// work gets 503 problem+json with Retry-After; health probes, metrics and docs still answer. The loop's
// delay is read with perf_hooks.monitorEventLoopDelay over half-second windows and must stay above the
// threshold for two windows in a row, so one long synchronous task does not shed the requests behind it.
// The heap is read at the end of each window too.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { sendProblem } from './problem.js';
import { isShed } from './route-policy.js';

export interface LoadSheddingOptions {
  /** p99 event-loop delay that, held for two windows, sheds new work, ms; 0 turns it off. */
  eventLoopDelayMs: number;
  /** Heap used, as a percentage of V8's heap limit, that sheds new work; 0 turns it off. */
  heapUsedPercent: number;
  /** Length of one measuring window, ms. @defaultValue 500 */
  windowMs?: number;
}

function heapUsedPercent(): number {
  const heap = getHeapStatistics();
  return (100 * heap.used_heap_size) / heap.heap_size_limit;
}

export class LoadMonitor {
  private readonly histogram = monitorEventLoopDelay({ resolution: 10 });
  private readonly timer: NodeJS.Timeout;
  private lateWindows = 0;
  /** p99 event-loop delay of the last complete window, ms. */
  lastDelayMs = 0;
  /** Heap used as a percentage of V8's limit, read once per window (not on every request). */
  private heapPercent = heapUsedPercent();

  constructor(private readonly options: LoadSheddingOptions) {
    this.histogram.enable();
    this.timer = setInterval(() => this.endWindow(), options.windowMs ?? 500);
    this.timer.unref();
  }

  private endWindow(): void {
    this.lastDelayMs = this.histogram.percentile(99) / 1e6;
    this.histogram.reset();
    this.heapPercent = heapUsedPercent();
    const late = this.options.eventLoopDelayMs > 0 && this.lastDelayMs > this.options.eventLoopDelayMs;
    this.lateWindows = late ? this.lateWindows + 1 : 0;
  }

  /** Why new work should be refused now, or undefined. */
  overloaded(): string | undefined {
    if (this.lateWindows >= 2) {
      return `the event loop is ${Math.round(this.lastDelayMs)} ms late (limit ${this.options.eventLoopDelayMs} ms)`;
    }
    if (this.options.heapUsedPercent > 0 && this.heapPercent > this.options.heapUsedPercent) {
      return `the heap is ${this.heapPercent.toFixed(0)}% full (limit ${this.options.heapUsedPercent}%)`;
    }
    return undefined;
  }

  close(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }
}

/** Refuses a request as overload (503 `overloaded`, Retry-After), counted in the rejection metric. */
export function refuseOverloaded(
  app: FastifyInstance,
  request: FastifyRequest,
  reply: FastifyReply,
  detail: string,
  retryAfter: number,
): FastifyReply {
  app.metrics.rejected('overloaded', request.apiKeyName);
  return sendProblem(request, reply, {
    status: 503,
    code: 'overloaded',
    title: 'Service overloaded',
    detail,
    retryAfter,
  });
}

async function loadSheddingPlugin(app: FastifyInstance, options: LoadSheddingOptions): Promise<void> {
  if (options.eventLoopDelayMs === 0 && options.heapUsedPercent === 0) return;
  const monitor = new LoadMonitor(options);
  app.addHook('onClose', async () => monitor.close());
  // A callback hook: every request passes here, and an async one costs a promise and a microtask.
  app.addHook('onRequest', (request, reply, done) => {
    const reason = isShed(request.routeOptions.config) ? monitor.overloaded() : undefined;
    if (reason === undefined) {
      done();
      return;
    }
    refuseOverloaded(app, request, reply, `${reason}; new work is refused until it recovers`, 2);
  });
}

export default fp(loadSheddingPlugin, { name: 'load-shedding' });
