// Bytes held at once across requests (request bodies being read, artifacts being sent), so that many
// requests each within its own limit cannot together take more memory than the process has. One rule: a
// charge that would pass the budget is refused, unless nothing else is charged — every request within its
// own limit can be served, one at a time.

/** What a charge lasts as long as: an HTTP response, which emits 'close' once it ended or its connection died. */
interface Closable {
  once(event: 'close', listener: () => void): unknown;
}

export class ByteBudget {
  private charged = 0;

  /** `limit` 0 turns the budget off: every charge is taken. */
  constructor(readonly limit: number) {}

  /** Bytes charged now. */
  get held(): number {
    return this.charged;
  }

  /** Whether `bytes` more may be charged: within the limit, or nothing else charged. */
  fits(bytes: number): boolean {
    return this.limit === 0 || this.charged === 0 || this.charged + bytes <= this.limit;
  }

  /**
   * Charges `bytes` until `holder` closes (whether or not they fit: see fits). The returned function adds
   * `more` to the same charge if it fits (the rule above, this charge aside) or `always`, and says whether
   * it did: for what turns out to take more than was known at first (a compressed body, decoded).
   */
  hold(bytes: number, holder: Closable): (more: number, always: boolean) => boolean {
    let held = bytes;
    this.charged += bytes;
    holder.once('close', () => {
      this.charged -= held;
    });
    return (more, always) => {
      const fits = this.limit === 0 || this.charged === held || this.charged + more <= this.limit;
      if (!fits && !always) return false;
      held += more;
      this.charged += more;
      return true;
    };
  }

  /**
   * A charge that follows a quantity up and down until `holder` closes (a stream's bytes not yet taken by
   * its client). The returned function sets it to `bytes` and says whether it did: a decrease always, an
   * increase by the rule above (this charge aside); a refused increase leaves the charge as it was.
   */
  track(holder: Closable): (bytes: number) => boolean {
    let held = 0;
    let closed = false;
    holder.once('close', () => {
      closed = true;
      this.charged -= held;
      held = 0;
    });
    return (bytes) => {
      if (closed) return true;
      const more = bytes - held;
      const fits =
        more <= 0 || this.limit === 0 || this.charged === held || this.charged + more <= this.limit;
      if (!fits) return false;
      held = bytes;
      this.charged += more;
      return true;
    };
  }
}
