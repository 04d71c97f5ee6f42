// Where each elementary stream of a newly spliced-in input may start: video at a random access
// point (rap.ts), every other stream at a PES start (a frame boundary, ISO/IEC 13818-1 §2.4.3.3
// payload_unit_start_indicator) once the video has started, so that sound and picture of the
// new source begin together. Until then the remuxer drops the stream's packets, and the output
// carries the old source, or PSI and PCR, meanwhile.
//
// The wait is bounded: after `maxWaitTicks` of input time (27 MHz, from the input's PCR) without
// an access point, the video starts at its next PES start anyway and the start counts as a
// non-RAP start; so does a stream whose codec gives no way to tell.

import { codecFamily, isRandomAccess } from '../rap.js';
import { payloadUnitStart } from '../packet.js';
import type { StreamKind } from '../stream-types.js';

export const GATE_OPEN = 0;
export const GATE_PUSI = 1;
export const GATE_RAP = 2;
/** Waits for the video to start, then for a PES start. */
export const GATE_AFTER_VIDEO = 3;

export interface GateStream {
  kind: StreamKind;
  streamType: number;
  codec: string;
}

export class StartGate {
  readonly wait: Uint8Array;
  private readonly family: Uint8Array;
  /** Index of the stream the others wait for (the first video), -1 without video. */
  private video = -1;
  private count = 0;
  /** Input time of the first anchor after arming (27 MHz), NaN until then. */
  private armedIn = NaN;
  /** Video streams started at an access point since the gate was made. */
  rapStarts = 0;
  /** Video streams started elsewhere: no access point within the wait, or an unknown codec. */
  nonRapStarts = 0;
  /** Packets held back by the gate. */
  held = 0;

  constructor(
    size: number,
    private readonly maxWaitTicks: number,
  ) {
    this.wait = new Uint8Array(size).fill(GATE_PUSI);
    this.family = new Uint8Array(size);
  }

  /** The program's streams changed: remembers their codecs; `changed` streams wait anew. */
  setStreams(streams: readonly GateStream[], changed: (i: number) => boolean): void {
    this.count = Math.min(streams.length, this.wait.length);
    this.video = -1;
    for (let i = 0; i < this.count; i++) {
      const s = streams[i];
      this.family[i] = codecFamily(s.streamType, s.codec);
      if (this.video < 0 && s.kind === 'video') this.video = i;
    }
    if (this.video >= 0 && changed(this.video)) this.arm(this.video);
    for (let i = 0; i < this.count; i++) if (i !== this.video && changed(i)) this.arm(i);
  }

  /** A new input begins: every stream waits (video for an access point, the others for it). */
  armAll(): void {
    this.armedIn = NaN;
    if (this.video >= 0) this.arm(this.video);
    for (let i = 0; i < this.count; i++) if (i !== this.video) this.arm(i);
  }

  /** What each stream waits for, and since when: another remuxer goes on with it (resume). */
  waits(): { wait: Uint8Array; armedIn: number } {
    return { wait: this.wait.slice(), armedIn: this.armedIn };
  }

  /** Takes another gate's waits() over (after setStreams with the same program). */
  setWaits(w: { wait: Uint8Array; armedIn: number }): void {
    this.wait.set(w.wait);
    this.armedIn = w.armedIn;
  }

  /** The input's clock starts anew (a new input timeline): the wait is timed from its next PCR. */
  restartClock(): void {
    this.armedIn = NaN;
  }

  /** True while any stream still waits. */
  get waiting(): boolean {
    for (let i = 0; i < this.count; i++) if (this.wait[i] !== GATE_OPEN) return true;
    return false;
  }

  /** An input PCR at input time `inNow` (27 MHz): ends a wait that has lasted too long. */
  anchor(inNow: number): void {
    if (this.video < 0 || this.wait[this.video] !== GATE_RAP) return;
    if (Number.isNaN(this.armedIn)) this.armedIn = inNow;
    else if (inNow - this.armedIn > this.maxWaitTicks) this.wait[this.video] = GATE_PUSI;
  }

  /** Whether packet b[o] of stream r passes; opens the stream's gate where it may start. */
  admit(r: number, b: Uint8Array, o: number): boolean {
    const w = this.wait[r];
    if (w === GATE_OPEN) return true;
    if (w === GATE_AFTER_VIDEO || !payloadUnitStart(b, o)) {
      this.held++;
      return false;
    }
    if (r === this.video) {
      if (isRandomAccess(b, o, this.family[r])) {
        this.rapStarts++;
      } else if (w === GATE_RAP) {
        this.held++;
        return false;
      } else {
        this.nonRapStarts++;
      }
      for (let i = 0; i < this.count; i++)
        if (this.wait[i] === GATE_AFTER_VIDEO) this.wait[i] = GATE_PUSI;
    }
    this.wait[r] = GATE_OPEN;
    return true;
  }

  private arm(i: number): void {
    if (i === this.video) {
      // A codec whose access points cannot be read from its bytes (CODEC_OTHER) waits for the
      // indicator only as long as the bounded wait; its start then counts as a non-RAP start.
      this.wait[i] = GATE_RAP;
      this.armedIn = NaN;
    } else {
      const videoWaits = this.video >= 0 && this.wait[this.video] !== GATE_OPEN;
      this.wait[i] = videoWaits ? GATE_AFTER_VIDEO : GATE_PUSI;
    }
  }
}
