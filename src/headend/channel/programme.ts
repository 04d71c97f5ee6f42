// What a channel should be playing now: an emergency alert over everything, else the timetable
// rule in force (scheduler/timetable.ts, in the headend's time zone), else its own source. It
// tells the channel on every change (Channel.setContent) and keeps a timer for the next rule
// change. An alert switches at once; a rule switch is planned, so the old source plays on until
// the new one reaches an access point (the channel's seamless splice).
//
// The timer is re-armed at most an hour ahead, so a wall clock set forward or back (NTP after
// boot) is caught up with within the hour, and at once by reevaluate().

import { nextChange, ruleInForce, type TimetableChange } from '../../scheduler/timetable.js';
import type { ChannelSourceSpec, ScheduleRule } from './types.js';

/** Longest wait between two evaluations. */
const MAX_WAIT_MS = 3_600_000;

export interface ContentTarget {
  /** Puts `spec` at the head of the channel's sources (null: its own primary). */
  setContent(spec: ChannelSourceSpec | null, mode: 'now' | 'planned', why: string): void;
}

/** An alert as a channel takes it: the source to show, and why (for logs and status). */
export interface ChannelAlert {
  source: ChannelSourceSpec;
  /** Alert id: the zone and trigger, for logs. */
  why: string;
}

export interface ProgrammeStatus {
  /** The rule in force (its name), null: the channel's own source. */
  rule: string | null;
  /** The next rule change within 8 days: when (ISO 8601 UTC) and to which rule (null: own). */
  next: { at: string; rule: string | null } | null;
  /** The alert on this channel, when one is. */
  alert?: string;
}

export class Programme {
  private rules: readonly ScheduleRule[] = [];
  private rule = -1;
  private next: TimetableChange | null = null;
  private alert: ChannelAlert | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** What the channel was last told to play (undefined: nothing yet). */
  private playing: ChannelSourceSpec | null | undefined;

  constructor(
    private readonly target: ContentTarget,
    private readonly zone: string,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** New rules (start, or a reload): the channel follows them from now on. */
  setSchedule(rules: readonly ScheduleRule[] | undefined): void {
    this.rules = rules ?? [];
    this.reevaluate('timetable changed');
  }

  setAlert(alert: ChannelAlert | null): void {
    this.alert = alert;
    // On at once; over: the alert plays on until the channel's own source can take over cleanly.
    this.apply(alert ? 'now' : 'planned', alert ? `alert ${alert.why}` : 'alert over');
  }

  get alertOn(): boolean {
    return this.alert !== null;
  }

  /** Evaluates the rules at the current time and re-arms the timer. */
  reevaluate(why = 'timetable'): void {
    if (this.stopped) return;
    const now = this.nowMs();
    const rules = this.rules.map((r) => r.rule);
    this.rule = ruleInForce(rules, this.zone, now);
    this.next = nextChange(rules, this.zone, now);
    const name = this.rule >= 0 ? this.rules[this.rule].name : 'own source';
    this.apply('planned', `${why}: ${name}`);
    this.arm(now);
  }

  status(): ProgrammeStatus {
    const nameOf = (i: number): string | null => (i >= 0 ? this.rules[i].name : null);
    const s: ProgrammeStatus = {
      rule: nameOf(this.rule),
      next: this.next && {
        at: new Date(this.next.atMs).toISOString(),
        rule: nameOf(this.next.rule),
      },
    };
    if (this.alert) s.alert = this.alert.why;
    return s;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private apply(mode: 'now' | 'planned', why: string): void {
    const want = this.alert?.source ?? (this.rule >= 0 ? this.rules[this.rule].source : null);
    if (this.playing !== undefined && sameSource(want, this.playing)) return;
    this.playing = want;
    this.target.setContent(want, mode, why);
  }

  private arm(now: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.rules.length === 0) return;
    const wait = this.next === null ? MAX_WAIT_MS : Math.min(MAX_WAIT_MS, this.next.atMs - now);
    this.timer = setTimeout(() => this.reevaluate(), Math.max(0, wait));
    this.timer.unref();
  }
}

function sameSource(a: ChannelSourceSpec | null, b: ChannelSourceSpec | null): boolean {
  if (a === null || b === null) return a === b;
  return a.key === b.key && a.service === b.service;
}
