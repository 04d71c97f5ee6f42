// A channel's EIT present/following from the guide: polled by the channel's housekeeping, it
// answers with new sections only when something changed (a programme started or ended, the
// guide was re-read, the channel's identity changed), so the remuxer's EIT version moves only
// then (ETSI EN 300 468 §5.2.4; TS 101 211 §4.1.4: p/f is updated at each event change).

import { serializeEitPf } from '../../mpegts/psi/eit.js';
import { eitEvent, presentFollowing } from './eit-events.js';
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

export class EitFeed {
  private generation = -1;
  private changesAt = -Infinity;
  private dirty = true;

  constructor(
    private readonly guide: GuideView,
    private readonly id: () => string,
    private readonly identity: () => EitIdentity,
    private readonly country: string | null,
  ) {}

  /** The channel's identity or guide id changed: rebuild at the next poll. */
  invalidate(): void {
    this.dirty = true;
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
    if (pf.present === undefined && pf.following === undefined) return null;
    const present = pf.present ? eitEvent(pf.present, pf.presentEnd, true, this.country) : null;
    const following = pf.following
      ? eitEvent(pf.following, pf.followingEnd, false, this.country)
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
