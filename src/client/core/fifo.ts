/**
 * A first-in, first-out queue with O(1) `push` and `shift`: an array read from a moving head,
 * compacted once the consumed part outweighs the rest. (`Array#shift` moves every element
 * behind the head, which a queue drained one item per acknowledgement pays on every item.)
 */
export class Fifo<T> {
  #items: Array<T | undefined> = [];
  #head = 0;

  /** Items in the queue. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Adds `item` at the tail. */
  push(item: T): void {
    this.#items.push(item);
  }

  /** The item at the head, without removing it. */
  peek(): T | undefined {
    return this.#items[this.#head];
  }

  /** Removes and returns the item at the head. */
  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Removes the first item `match` accepts; returns whether one was found. */
  remove(match: (item: T) => boolean): boolean {
    for (let i = this.#head; i < this.#items.length; i++) {
      if (match(this.#items[i] as T)) { // slots from head to the end hold items
        this.#items.splice(i, 1);
        return true;
      }
    }
    return false;
  }

  /** Empties the queue and returns what it held, head first. */
  clear(): T[] {
    const items = this.#items.slice(this.#head) as T[]; // slots from head to the end hold items
    this.#items = [];
    this.#head = 0;
    return items;
  }
}
