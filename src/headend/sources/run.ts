// What every source backend implements: start a run that pushes bytes into a context and
// says once when it ended by itself; stop it on request. The hub supervises runs (health,
// backoff, subscribers); backends know nothing of that.

import type { TunerStatus } from '../tuners/types.js';
import type { FailureReason, SourceEvent } from './types.js';

export interface RunContext {
  /** TS bytes; the view is only valid during the call. */
  data(chunk: Uint8Array): void;
  /** The run ended by itself (at most once; never after stop()). */
  ended(reason: FailureReason, message: string): void;
  event(level: SourceEvent['level'], event: string, message: string, extra?: object): void;
  /** Tuner runs: the front end's latest reading (kept as the source's status). */
  tuner(status: TunerStatus): void;
  /**
   * The program_numbers the subscribers take from this source (a subscriber without one takes
   * the first program: undefined in the set). Tuner runs filter PIDs by it.
   */
  services(): ReadonlySet<number | undefined>;
  /** Calls `f` whenever services() changes (a channel added or removed); returns the off switch. */
  onServices(f: () => void): () => void;
}

export interface SourceRun {
  /** Process id of an ffmpeg child. */
  readonly pid: number | undefined;
  /**
   * True when the run can outlive a stall (a socket that just waits for the feed to come
   * back); false when a stalled run must be killed and started again (a child process).
   */
  readonly persistent: boolean;
  /** Ends the run; resolves when its process has exited / its socket is closed. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

export type StartRun = (ctx: RunContext) => SourceRun;
