// A FIFO over an array with an index head: O(1) per item (no Array.shift()), compacted as it
// drains. The sender core keeps its queued records and its unacked batches in one, the receive path
// the records waiting for the `in` ring.

/** Consumed slots beyond which the array is cut down, if they are at least half of it. */
const COMPACT_AFTER = 4096;

export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined; // released now, not at compaction
    this.head += 1;
    this.compact();
    return item;
  }

  /** Removes and returns up to n items from the front, in order. */
  take(n: number): T[] {
    const end = Math.min(this.items.length, this.head + n);
    const out = this.items.slice(this.head, end) as T[];
    this.head = end;
    this.compact();
    return out;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
