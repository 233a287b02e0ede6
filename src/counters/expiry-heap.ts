/** Something that expires and knows its slot in the heap (so renew and remove are O(log n) without a lookup). */
export interface Expiring {
  expiresAtMs: number;
  /** Position in the heap; -1 when not in it. */
  heapIndex: number;
}

/** A binary min-heap on expiresAtMs, indexed: no allocation per push/update/remove beyond array growth. */
export class ExpiryHeap<T extends Expiring> {
  readonly #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  /** The soonest to expire. */
  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    item.heapIndex = this.#items.length;
    this.#items.push(item);
    this.#up(item.heapIndex);
  }

  /** Restores order after item.expiresAtMs changed. */
  update(item: T): void {
    this.#down(this.#up(item.heapIndex));
  }

  remove(item: T): void {
    const index = item.heapIndex;
    if (index < 0 || this.#items[index] !== item) return;
    const last = this.#items.pop() as T;
    item.heapIndex = -1;
    if (last === item) return;
    this.#items[index] = last;
    last.heapIndex = index;
    this.#down(this.#up(index));
  }

  #up(index: number): number {
    const items = this.#items;
    const item = items[index] as T;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = items[parentIndex] as T;
      if (parent.expiresAtMs <= item.expiresAtMs) break;
      items[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    items[index] = item;
    item.heapIndex = index;
    return index;
  }

  #down(index: number): void {
    const items = this.#items;
    const length = items.length;
    const item = items[index] as T;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      if (right < length && (items[right] as T).expiresAtMs < (items[left] as T).expiresAtMs) child = right;
      const smallest = items[child] as T;
      if (smallest.expiresAtMs >= item.expiresAtMs) break;
      items[index] = smallest;
      smallest.heapIndex = index;
      index = child;
    }
    items[index] = item;
    item.heapIndex = index;
  }
}
