/**
 * A table from string ids to short-lived objects (one per request in flight) that keeps those objects out of hash
 * tables: the id maps to a small-integer slot, the object sits in a slot array that is cleared when it leaves.
 *
 * Why not a Map<string, T>: a long-lived Map lives in V8's old space, and under churn (one insert and one delete a
 * request) it rehashes every few dozen inserts into a new backing table, leaving the retired one behind as old-space
 * garbage that still points at the entries it held. Until the next major GC, V8's scavenger treats those pointers as
 * roots, so every request object that was in the table at a rehash — and all it references — survives young-space
 * collections and is promoted: measured in the gateway, a keyed request's reservation and budget hold doubled the
 * bytes each scavenge promoted (bench/README.md). With ids mapped to small integers, a retired table holds only
 * strings and numbers, and a slot array's cleared slot holds nothing.
 */
export class IdTable<T> {
  readonly #slotOf = new Map<string, number>();
  readonly #slots: (T | undefined)[] = [];
  readonly #free: number[] = [];

  get size(): number {
    return this.#slotOf.size;
  }

  get(id: string): T | undefined {
    const slot = this.#slotOf.get(id);
    return slot === undefined ? undefined : this.#slots[slot];
  }

  has(id: string): boolean {
    return this.#slotOf.has(id);
  }

  /** Adds `value` under `id`, replacing what was there. */
  set(id: string, value: T): void {
    const held = this.#slotOf.get(id);
    if (held !== undefined) {
      this.#slots[held] = value;
      return;
    }
    const slot = this.#free.pop() ?? this.#slots.length;
    this.#slots[slot] = value;
    this.#slotOf.set(id, slot);
  }

  /** Adds `value` under an id the table does not hold (check with has); answers its slot, for deleteAt. */
  add(id: string, value: T): number {
    const slot = this.#free.pop() ?? this.#slots.length;
    this.#slots[slot] = value;
    this.#slotOf.set(id, slot);
    return slot;
  }

  /** Removes `id`, which `add` put in `slot` (one lookup fewer than delete). */
  deleteAt(id: string, slot: number): void {
    if (this.#slots[slot] === undefined || this.#slotOf.get(id) !== slot) return;
    this.#slots[slot] = undefined;
    this.#slotOf.delete(id);
    this.#free.push(slot);
  }

  /** Removes `id`; answers what it held. */
  delete(id: string): T | undefined {
    const slot = this.#slotOf.get(id);
    if (slot === undefined) return undefined;
    const value = this.#slots[slot];
    this.#slots[slot] = undefined;
    this.#slotOf.delete(id);
    this.#free.push(slot);
    return value;
  }

  /** Every value held, in no particular order. Values may be deleted while iterating; one added meanwhile may be missed. */
  *values(): Generator<T> {
    const slots = this.#slots;
    for (let i = 0; i < slots.length; i++) {
      const value = slots[i];
      if (value !== undefined) yield value;
    }
  }
}
