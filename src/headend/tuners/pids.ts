// The PID set a tuner's hardware filter should pass, kept up to date: frames the bytes the
// tuner delivers into a PidPlan (src/mpegts/pid-plan.ts) that follows the subscribers'
// services (RunContext.services/onServices), and tells the backend the new set, coalesced
// over `settleMs` so that a starting tuner (PAT, then PMTs, then streams) changes its filter
// a few times, not once per table.

import { Framer } from '../../mpegts/framer.js';
import { PidPlan } from '../../mpegts/pid-plan.js';
import type { RunContext } from '../sources/run.js';

export class TunerPids {
  private readonly plan: PidPlan;
  private readonly framer: Framer;
  private timer: NodeJS.Timeout | undefined;
  private readonly off: () => void;
  private applied: readonly number[] = [];

  constructor(
    ctx: RunContext,
    private readonly apply: (pids: readonly number[]) => void,
    private readonly settleMs = 100,
  ) {
    this.plan = new PidPlan(ctx.services(), () => this.schedule());
    this.applied = this.plan.pids;
    this.framer = new Framer(this.plan);
    this.off = ctx.onServices(() => this.plan.setServices(ctx.services()));
  }

  /** The set to pass now (the backend applies it once at start; changes come by `apply`). */
  get pids(): readonly number[] {
    return this.plan.pids;
  }

  /** Bytes the tuner delivered (any alignment). */
  push(chunk: Uint8Array): void {
    this.framer.push(chunk);
  }

  close(): void {
    clearTimeout(this.timer);
    this.off();
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const next = this.plan.pids;
      if (next.length === this.applied.length && next.every((p, i) => p === this.applied[i])) {
        return;
      }
      this.applied = next;
      this.apply(next);
    }, this.settleMs);
  }
}
