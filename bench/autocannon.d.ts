// autocannon 8 ships no types and @types/autocannon is not a dependency; this declares only what
// bench/http.ts and bench/overload.ts use. The object autocannon() returns without a callback is an EventEmitter that is also
// a thenable of the results.
declare module 'autocannon' {
  export interface Histogram {
    average: number;
  }

  export interface Options {
    url: string;
    method?: 'GET' | 'POST';
    headers?: Record<string, string>;
    body?: string;
    connections?: number;
    /** Seconds. */
    duration?: number;
    /** Requests per second across all connections (bench/overload.ts); unset: as fast as answers come. */
    overallRate?: number;
    /** Seconds a request may take before it counts as a timeout. */
    timeout?: number;
    /** Every response body that this returns false for counts as a mismatch. */
    verifyBody?: (body: string) => boolean;
  }

  export interface Result {
    /** Requests per one-second sample. */
    requests: Histogram & { total: number };
    /** Seconds. */
    duration: number;
    errors: number;
    timeouts: number;
    mismatches: number;
    non2xx: number;
  }

  export interface Instance extends PromiseLike<Result> {
    on(
      event: 'response',
      listener: (client: unknown, statusCode: number, responseBytes: number, responseTimeMs: number) => void,
    ): this;
  }

  export default function autocannon(options: Options): Instance;
}
