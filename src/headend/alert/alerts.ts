// The emergency override's state: which zones are under an alert, since when, with which message
// and from which trigger (serial, http, cli, contact), and what each channel shows because of it.
// Triggers call on()/off(); the daemon applies the result to its channels (Programme.setAlert)
// on every change and to channels a reload builds.
//
// Zones: `on` without a zone is an alert everywhere ('*'); with one, it covers the channels of
// the groups the config lists for that zone, or else of the group of that name. `off` without a
// zone ends every alert; with one, only that zone's. A channel under several alerts shows the
// newest one's message.

import type { AlertSpec, SourceSpec } from '../config/types.js';
import { sourceKey } from '../config/resolve.js';
import { DEFAULTS } from '../config/defaults.js';

/** The zone of an alert for every channel. */
export const ALL_ZONES = '*';
/** The card's tone, Hz. */
const CARD_TONE_HZ = 1000;
/**
 * The card is a still picture: 10 frames a second, every one a keyframe, so a channel switching
 * to it waits at most 100 ms for a picture it can start on (a still intra frame is small).
 */
const CARD_RATE = 10;
const CARD_GOP_MS = 100;

export type AlertTrigger = 'serial' | 'contact' | 'http' | 'cli';

export interface ActiveAlert {
  zone: string;
  message: string;
  trigger: AlertTrigger;
  sinceMs: number;
}

export interface AlertChange {
  on: boolean;
  zone: string;
  trigger: AlertTrigger;
  message?: string;
  /** Whether anything changed (an `on` for a zone already on with that message does not). */
  changed: boolean;
}

export class Alerts {
  private readonly active = new Map<string, ActiveAlert>();
  /** Changes by trigger (headend_alert_changes_total). */
  readonly changes = new Map<AlertTrigger, number>();

  constructor(
    private spec: AlertSpec | null,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** A reload's alert settings (zones, card, source): the alerts on stay on. */
  setSpec(spec: AlertSpec | null): void {
    this.spec = spec;
  }

  get configured(): boolean {
    return this.spec !== null;
  }

  on(zone: string | undefined, message: string | undefined, trigger: AlertTrigger): AlertChange {
    const z = zone === undefined || zone === '' ? ALL_ZONES : zone;
    const msg = message ?? this.spec?.message ?? '';
    const was = this.active.get(z);
    const changed = was === undefined || was.message !== msg;
    if (changed) {
      this.active.set(z, { zone: z, message: msg, trigger, sinceMs: this.nowMs() });
      this.count(trigger);
    }
    return { on: true, zone: z, trigger, message: msg, changed };
  }

  off(zone: string | undefined, trigger: AlertTrigger): AlertChange {
    const z = zone === undefined || zone === '' ? ALL_ZONES : zone;
    let changed: boolean;
    if (z === ALL_ZONES) {
      changed = this.active.size > 0;
      this.active.clear();
    } else changed = this.active.delete(z);
    if (changed) this.count(trigger);
    return { on: false, zone: z, trigger, changed };
  }

  /** Every alert on, oldest first. */
  list(): ActiveAlert[] {
    return [...this.active.values()].sort((a, b) => a.sinceMs - b.sinceMs);
  }

  get isOn(): boolean {
    return this.active.size > 0;
  }

  /** The alert a channel of `group` is under (the newest covering it), or null. */
  forGroup(group: string | undefined): ActiveAlert | null {
    let best: ActiveAlert | null = null;
    for (const a of this.active.values()) {
      if (!this.covers(a.zone, group)) continue;
      if (best === null || a.sinceMs >= best.sinceMs) best = a;
    }
    return best;
  }

  /** What a channel under an alert shows: the configured source, else the card of `message`. */
  sourceFor(message: string): SourceSpec {
    if (this.spec?.source !== undefined) return this.spec.source;
    return cardSource(message);
  }

  private covers(zone: string, group: string | undefined): boolean {
    if (zone === ALL_ZONES) return true;
    if (group === undefined) return false;
    const groups = this.spec?.zones[zone];
    return groups !== undefined ? groups.includes(group) : zone === group;
  }

  private count(trigger: AlertTrigger): void {
    this.changes.set(trigger, (this.changes.get(trigger) ?? 0) + 1);
  }
}

/** The card: the message over a plain picture with a tone (an ffmpeg test source). */
export function cardSource(message: string): SourceSpec {
  const s: Omit<SourceSpec, 'key'> = {
    test: {
      pattern: 'color',
      resolution: DEFAULTS.testResolution,
      rate: CARD_RATE,
      bitrate: DEFAULTS.testBitrate,
      text: message,
      tone: CARD_TONE_HZ,
      gopMs: CARD_GOP_MS,
    },
  };
  return { ...s, key: sourceKey(s) };
}
