// Takes a thread's incoming commands in slices of its event loop's turns, in order: at most
// SLICE_MS of commands a turn, the rest in the turns after, so that the thread's timers (the
// channels' ticks and filler) and inputs run between slices.
//
// Commands come in batches: a start or a reload of 250 channels is 500 commands (add, start) in
// one turn of a channel worker's loop. Taken all at once they held that loop 118-180 ms, long
// enough for the channels started first to run their queues dry: bench/scale at 250 channels
// logged a send 22 ms late before any input had begun.

/** The longest a turn spends on commands while more wait. */
export const SLICE_MS = 10;

export interface CommandSlicesOptions<T> {
  /** Carries out one command. */
  handle: (m: T) => void;
  /** A clock in ms (performance.now). */
  nowMs: () => number;
  /** Runs `f` in a later turn of the loop (setImmediate). */
  later: (f: () => void) => void;
}

export class CommandSlices<T> {
  private readonly inbox: (T | undefined)[] = [];
  private head = 0;
  /** When this turn's first command was taken (−1: none yet this turn). */
  private turnAt = -1;
  private readonly nextTurn = (): void => this.turn();

  constructor(private readonly opts: CommandSlicesOptions<T>) {}

  /** Commands waiting for a later turn. */
  get waiting(): number {
    return this.inbox.length - this.head;
  }

  /** A command came: carried out now if this turn has time and none waits before it. */
  take(m: T): void {
    if (this.head < this.inbox.length) {
      this.inbox.push(m);
      return;
    }
    const now = this.opts.nowMs();
    if (this.turnAt < 0) {
      this.turnAt = now;
      this.opts.later(this.nextTurn);
    }
    if (now - this.turnAt > SLICE_MS) this.inbox.push(m);
    else this.opts.handle(m);
  }

  /** A new turn: the commands that wait, for at most SLICE_MS. */
  private turn(): void {
    this.turnAt = -1;
    if (this.head >= this.inbox.length) {
      this.inbox.length = 0;
      this.head = 0;
      return;
    }
    this.turnAt = this.opts.nowMs();
    this.opts.later(this.nextTurn);
    while (this.head < this.inbox.length && this.opts.nowMs() - this.turnAt <= SLICE_MS) {
      const m = this.inbox[this.head] as T;
      this.inbox[this.head++] = undefined;
      this.opts.handle(m);
    }
  }
}
