// Continuous batching for one language model (vLLM's scheduler, in miniature): every running sequence
// asks for its next step, and all the steps asked for while the model was busy go together in the next
// forward pass. A new sequence joins at the next step with its prompt (prefill), a finished one leaves at
// once and the last running sequence moves into its cache slot, so the running sequences fill slots
// 0..n−1 and a step feeds them as one view (batched-decoder.ts). Where the step runs — a decoder thread,
// or this thread in a job — is the `execute` function's business; steps of one model never overlap.
import type { DecodeStep, SlotTokens } from './batched-decoder.js';
import type { Decoder } from './decoder.js';

/** Runs one step; resolves with the logits of its rows, then of its prefills. */
export type ExecuteStep = (step: DecodeStep) => Promise<Float32Array>;

interface Sequence {
  slot: number;
  /** Positions in the sequence's cache slot so far. */
  length: number;
  next:
    | { ids: number[]; resolve: (logits: Float32Array) => void; reject: (error: Error) => void }
    | undefined;
  closed: boolean;
  failure: Error | undefined;
}

export class DecodeScheduler {
  /** Indexed by slot. */
  private running: Sequence[] = [];
  private moves: Array<[number, number]> = [];
  private busy = false;
  private woken = false;
  /** Steps run: a batch of next tokens and the prompts that joined it (observable progress for tests). */
  steps = 0;

  constructor(
    private readonly execute: ExecuteStep,
    /** Positions of a cache slot: a step that would pass them fails alone, not in a batch. */
    private readonly context: number,
  ) {}

  /** Sequences holding a cache slot. */
  get size(): number {
    return this.running.length;
  }

  open(): Decoder {
    const sequence: Sequence = {
      slot: this.running.length,
      length: 0,
      next: undefined,
      closed: false,
      failure: undefined,
    };
    this.running.push(sequence);
    return {
      step: (ids) => {
        if (sequence.closed) return Promise.reject(new Error('decoder is closed'));
        if (sequence.failure !== undefined) return Promise.reject(sequence.failure);
        if (sequence.length + ids.length > this.context) {
          return Promise.reject(
            new Error(
              `a sequence of ${sequence.length + ids.length} positions exceeds the ${this.context}-position context`,
            ),
          );
        }
        return new Promise<Float32Array>((resolve, reject) => {
          sequence.next = { ids: [...ids], resolve, reject };
          this.wake();
        });
      },
      close: () => this.leave(sequence),
    };
  }

  /**
   * Every running sequence fails with `error` (their caches are lost, e.g. with the thread that held
   * them); sequences opened afterwards start afresh.
   */
  fail(error: Error): void {
    for (const sequence of this.running) {
      sequence.failure = error;
      sequence.next?.reject(error);
      sequence.next = undefined;
    }
    this.running = [];
    this.moves = [];
  }

  private leave(sequence: Sequence): void {
    if (sequence.closed) return;
    sequence.closed = true;
    sequence.next?.reject(new Error('decoder is closed'));
    sequence.next = undefined;
    if (this.running[sequence.slot] !== sequence) return; // failed earlier: not running any more
    const last = this.running.pop() as Sequence;
    if (last !== sequence) {
      this.moves.push([last.slot, sequence.slot]);
      last.slot = sequence.slot;
      this.running[sequence.slot] = last;
    }
  }

  /**
   * Dispatches once the model is idle, one macrotask later: the sequences that the last step answered
   * ask for their next step in the microtasks before it, so they all make the same batch.
   */
  private wake(): void {
    if (this.busy || this.woken) return;
    this.woken = true;
    setImmediate(() => {
      this.woken = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    if (this.busy) return;
    const stepping = this.running.filter((sequence) => sequence.next !== undefined);
    if (stepping.length === 0) return;
    const tokens = (sequence: Sequence): SlotTokens => ({
      slot: sequence.slot,
      ids: sequence.next?.ids ?? [],
      position: sequence.length,
    });
    // One token: a row of the batch. A prompt: its own forward pass (rows of a batch share a length).
    const rows = stepping.filter((sequence) => sequence.next?.ids.length === 1);
    const prefills = stepping.filter((sequence) => sequence.next?.ids.length !== 1);
    const order = [...rows, ...prefills];
    const step: DecodeStep = {
      moves: this.moves.splice(0),
      width: rows.reduce((width, sequence) => Math.max(width, sequence.slot + 1), 0),
      rows: rows.map(tokens),
      prefills: prefills.map(tokens),
    };
    const waiting = order.map((sequence) => {
      const next = sequence.next as NonNullable<Sequence['next']>;
      sequence.next = undefined;
      sequence.length += next.ids.length;
      return { sequence, next };
    });
    this.busy = true;
    this.steps++;
    this.execute(step).then(
      (logits) => {
        // The next dispatch is queued before the answered sequences run on: it then follows every step
        // they ask for, and comes before the event-loop work they leave for later (their streams' writes,
        // completion-routes), which runs while the model computes.
        this.busy = false;
        this.wake();
        const vocabulary = logits.length / waiting.length;
        waiting.forEach(({ sequence, next }, index) => {
          if (!sequence.closed) next.resolve(logits.slice(index * vocabulary, (index + 1) * vocabulary));
        });
      },
      (error: Error) => {
        this.busy = false;
        for (const { next } of waiting) next.reject(error);
        // The caches may hold part of the step: no running sequence can go on.
        this.fail(error);
      },
    );
  }
}
