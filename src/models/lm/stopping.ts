// Stopping criteria and the text a client may see. OpenAI semantics: generation ends at <eos> or a stop
// sequence (finish_reason "stop", the stop sequence itself not returned) or at max_tokens ("length").
// While streaming, text that could still become a stop sequence is held back until it cannot.

export type FinishReason = 'stop' | 'length';

export class StopSequenceText {
  private text = '';
  private emitted = 0;
  private stopped = false;

  constructor(private readonly stops: readonly string[]) {}

  /** Adds one token's text; returns the text now safe to emit and whether a stop sequence completed. */
  push(piece: string): { emit: string; stopped: boolean } {
    if (this.stopped) return { emit: '', stopped: true };
    this.text += piece;
    const at = this.earliestStop();
    if (at !== undefined) {
      this.text = this.text.slice(0, at);
      this.stopped = true;
      return { emit: this.take(this.text.length), stopped: true };
    }
    return { emit: this.take(this.text.length - this.heldBack()), stopped: false };
  }

  /** The held-back rest, once generation ended without completing a stop sequence. */
  flush(): string {
    return this.take(this.text.length);
  }

  /** The final text. */
  get value(): string {
    return this.text;
  }

  private take(end: number): string {
    const piece = this.text.slice(this.emitted, end);
    this.emitted = Math.max(this.emitted, end);
    return piece;
  }

  private earliestStop(): number | undefined {
    let earliest: number | undefined;
    for (const stop of this.stops) {
      const at = this.text.indexOf(stop);
      if (at >= 0 && (earliest === undefined || at < earliest)) earliest = at;
    }
    return earliest;
  }

  /** Length of the longest suffix of the text that is a proper prefix of some stop sequence. */
  private heldBack(): number {
    let longest = 0;
    for (const stop of this.stops) {
      for (let length = Math.min(stop.length - 1, this.text.length); length > longest; length--) {
        if (this.text.endsWith(stop.slice(0, length))) {
          longest = length;
          break;
        }
      }
    }
    return longest;
  }
}
