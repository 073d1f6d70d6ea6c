/**
 * Time limits that all last the same, kept with one timer: a request's handler may take at most
 * `--job-timeout`, and a timer of its own per request cost more than the handler of a trivial
 * app. Limits are added in the order they end, so the timer only ever waits for the oldest.
 *
 * @module
 */

/** One limit; cancel it once the work it guards is done. */
export interface Deadline {
  /** Stops the limit from expiring (nothing happens if it already has). */
  cancel(): void;
}

interface Entry extends Deadline {
  at: number;
  expire: (() => void) | undefined;
}

/**
 * Limits of `ms` milliseconds each, sharing one timer.
 *
 * @example
 * ```ts
 * import { Deadlines } from "./deadlines.ts";
 * const deadlines = new Deadlines(1000);
 * const limit = deadlines.add(() => console.log("too late"));
 * limit.cancel();
 * ```
 */
export class Deadlines {
  #ms: number;
  #queue: Entry[] = [];
  #head = 0;
  /** Entries in the queue not cancelled nor expired. */
  #live = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Limits of `ms` milliseconds. */
  constructor(ms: number) {
    this.#ms = ms;
  }

  /** Calls `expire` in `ms` milliseconds unless the returned limit is cancelled first. */
  add(expire: () => void): Deadline {
    const entry: Entry = {
      at: performance.now() + this.#ms,
      expire,
      cancel: () => {
        if (entry.expire === undefined) return;
        entry.expire = undefined;
        this.#live--;
      },
    };
    this.#drop();
    this.#queue.push(entry);
    this.#live++;
    this.#timer ??= setTimeout(() => this.#fire(), this.#ms);
    return entry;
  }

  #fire(): void {
    this.#timer = undefined;
    const now = performance.now();
    const queue = this.#queue;
    const expired: (() => void)[] = [];
    let head = this.#head;
    for (; head < queue.length; head++) {
      const entry = queue[head]!;
      if (entry.expire === undefined) continue;
      if (entry.at > now) break;
      expired.push(entry.expire);
      entry.expire = undefined;
      this.#live--;
    }
    this.#head = head;
    this.#drop();
    if (this.#head < this.#queue.length) {
      const next = this.#queue[this.#head]!.at;
      this.#timer = setTimeout(() => this.#fire(), Math.max(0, next - now));
    }
    for (const expire of expired) expire();
  }

  /** Forgets the done entries: at the head at once, elsewhere once they are most of the queue. */
  #drop(): void {
    const queue = this.#queue;
    let head = this.#head;
    while (head < queue.length && queue[head]!.expire === undefined) head++;
    if (head === queue.length) {
      queue.length = 0;
      head = 0;
    } else if (queue.length - head > 2 * this.#live + 1024) {
      this.#queue = queue.slice(head).filter((entry) => entry.expire !== undefined);
      head = 0;
    }
    this.#head = head;
  }
}
