// The vectors of a collection's slots, one growable Float32Array (dim floats per slot), with a live flag
// per slot. Slots are never reused: an overwritten or deleted point leaves a dead slot behind.
export class SlotVectors {
  private data: Float32Array;
  private alive: Uint8Array;
  private used = 0;

  constructor(
    readonly dim: number,
    capacity = 1024,
  ) {
    this.data = new Float32Array(capacity * dim);
    this.alive = new Uint8Array(capacity);
  }

  /** Slots handed out so far, dead ones included. */
  get length(): number {
    return this.used;
  }

  append(vector: Float32Array): number {
    if (this.used === this.alive.length) this.grow();
    const slot = this.used++;
    this.data.set(vector, slot * this.dim);
    this.alive[slot] = 1;
    return slot;
  }

  kill(slot: number): void {
    this.alive[slot] = 0;
  }

  /** A killed slot alive again (its vector was kept): a refused save's edits undone. */
  revive(slot: number): void {
    this.alive[slot] = 1;
  }

  isAlive(slot: number): boolean {
    return slot < this.used && this.alive[slot] === 1;
  }

  /** Every slot's floats, dim per slot, for scans that must not allocate per slot; valid until the next append. */
  get values(): Float32Array {
    return this.data;
  }

  /** A view, not a copy: valid until the next append. */
  vector(slot: number): Float32Array {
    return this.data.subarray(slot * this.dim, (slot + 1) * this.dim);
  }

  /** Every slot's vector, dead ones included, as bytes for the collection file. */
  bytes(): Uint8Array {
    return new Uint8Array(this.data.buffer, 0, this.used * this.dim * 4);
  }

  private grow(): void {
    const capacity = this.alive.length * 2;
    const data = new Float32Array(capacity * this.dim);
    data.set(this.data);
    const alive = new Uint8Array(capacity);
    alive.set(this.alive);
    this.data = data;
    this.alive = alive;
  }
}
