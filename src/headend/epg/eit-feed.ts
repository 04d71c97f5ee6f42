// A channel's EIT from the guide: polled by the channel's housekeeping, it answers only when
// something changed, so EIT versions move only then (ETSI EN 300 468 §5.2.4):
// - present/following at each programme change, a re-read guide or a new identity (TS 101 211
//   §4.1.4: p/f is updated at each event change);
// - the schedule (SCHEDULE_DAYS from 00:00 UTC today, eit-schedule.ts) on a re-read guide, a
//   new identity or a new day; its version from its content.

import { serializeEitPf } from '../../mpegts/psi/eit.js';
import { serializeEitSchedule } from '../../mpegts/psi/eit-schedule.js';
import { endOf, eitEvent, presentFollowing } from './eit-events.js';
import type { Programme } from './xmltv.js';

export interface GuideView {
  readonly generation: number;
  programmes(id: string): readonly Programme[];
}

export interface EitIdentity {
  serviceId: number;
  transportStreamId: number;
  originalNetworkId: number;
}

export type EitBuilder = (version: number) => Uint8Array[];

/** What the EIT p/f says now (titles and UTC times), for the channel's status. */
export interface GuideNow {
  present: { title: string; start: string; stop: string } | null;
  following: { title: string; start: string; stop: string } | null;
}

/** Days of schedule the EIT carries (two sub-tables, 0x50 and 0x51). */
export const SCHEDULE_DAYS = 8;
const DAY_MS = 86_400_000;

export interface EitUpdate {
  /** p/f: a builder for a version, null for none; undefined: unchanged. */
  pf?: EitBuilder | null;
  /** Schedule sections (version included), [] for none; undefined: unchanged. */
  schedule?: Uint8Array[];
}

export class EitFeed {
  private generation = -1;
  private changesAt = -Infinity;
  private dirty = true;
  private scheduleGeneration = -1;
  private scheduleDay = NaN;
  private scheduleDirty = true;
  private scheduleKey = '';
  private scheduleVersion = -1;
  private onAir: GuideNow = { present: null, following: null };

  constructor(
    private readonly guide: GuideView,
    private readonly id: () => string,
    private readonly identity: () => EitIdentity,
    private readonly country: string | null,
  ) {}

  /** The programmes in the EIT p/f as last built. */
  get now(): GuideNow {
    return this.onAir;
  }

  /** The channel's identity or guide id changed: rebuild at the next poll. */
  invalidate(): void {
    this.dirty = true;
    this.scheduleDirty = true;
  }

  /** At UTC `nowMs` (the output's time): what changed in p/f and schedule, undefined if nothing. */
  update(nowMs: number): EitUpdate | undefined {
    // Called every tick: nothing is allocated when nothing changed.
    const pf = this.poll(nowMs);
    const schedule = this.pollSchedule(nowMs);
    if (pf === undefined && schedule === undefined) return undefined;
    const u: EitUpdate = {};
    if (pf !== undefined) u.pf = pf;
    if (schedule !== undefined) u.schedule = schedule;
    return u;
  }

  /** The schedule sections when they changed, undefined when not. */
  pollSchedule(nowMs: number): Uint8Array[] | undefined {
    const day = Math.floor(nowMs / DAY_MS) * DAY_MS;
    if (
      !this.scheduleDirty &&
      this.guide.generation === this.scheduleGeneration &&
      day === this.scheduleDay
    )
      return undefined;
    this.scheduleDirty = false;
    this.scheduleGeneration = this.guide.generation;
    this.scheduleDay = day;
    const progs = this.guide.programmes(this.id());
    const events = progs
      .map((p, i) => (p.start >= day ? eitEvent(p, endOf(progs, i), 0, this.country) : null))
      .filter((e) => e !== null);
    const ids = this.identity();
    const build = (version: number): Uint8Array[] =>
      serializeEitSchedule({ ...ids, version }, day, SCHEDULE_DAYS, events);
    const key = build(0)
      .map((s) => Buffer.from(s.subarray(0, s.length - 4)).toString('hex'))
      .join('|');
    if (key === this.scheduleKey) return undefined;
    this.scheduleKey = key;
    this.scheduleVersion = (this.scheduleVersion + 1) & 0x1f;
    return key === '' ? [] : build(this.scheduleVersion);
  }

  /**
   * At UTC `nowMs` (the output's time): a new builder when p/f changed, null when the guide
   * has nothing for the channel (no EIT), undefined when nothing changed since the last call.
   */
  poll(nowMs: number): EitBuilder | null | undefined {
    if (!this.dirty && this.guide.generation === this.generation && nowMs < this.changesAt)
      return undefined;
    this.dirty = false;
    this.generation = this.guide.generation;
    const progs = this.guide.programmes(this.id());
    const pf = presentFollowing(progs, nowMs);
    this.changesAt = pf.changesAt;
    const show = (p: Programme | undefined, end: number) =>
      p === undefined
        ? null
        : {
            title: p.title,
            start: new Date(p.start).toISOString(),
            stop: new Date(end).toISOString(),
          };
    this.onAir = {
      present: show(pf.present, pf.presentEnd),
      following: show(pf.following, pf.followingEnd),
    };
    if (pf.present === undefined && pf.following === undefined) return null;
    const present = pf.present ? eitEvent(pf.present, pf.presentEnd, 4, this.country) : null;
    const following = pf.following
      ? eitEvent(pf.following, pf.followingEnd, 1, this.country)
      : null;
    const ids = this.identity();
    return (version) =>
      serializeEitPf({
        serviceId: ids.serviceId,
        transportStreamId: ids.transportStreamId,
        originalNetworkId: ids.originalNetworkId,
        version,
        present,
        following,
      });
  }
}
