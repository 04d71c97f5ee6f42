// The decode delay of a remuxer's output: a time added to every PTS/DTS on top of the timeline
// offset, so that each PES arrives at least `minMargin` before its decoding time (DTS, else
// PTS) and never more than the T-STD's 1 s before it (ISO/IEC 13818-1 §2.4.2.6: data waits at
// most one second in the decoder's buffers, still pictures excepted).
//
// Why the remuxer needs one: its output PCR and PTS move by the same offset, so a source that
// sends a stream late (ffmpeg's MPEG-TS muxer gathers audio frames into PES of ~2.9 kB and
// puts them on the wire after their DTS − PCR has fallen to −8…−36 ms) would stay late. One
// delay common to all streams keeps sound and picture together.
//
// When it is chosen: at each new input (splice, restart, first output) from the input's first
// segment that holds PES — what those PES need to keep the margin (allowing UNSEEN_SPREAD more
// for a stream with no PES there yet), but no less than keeps each PID's first PES presenting
// after its last one sent, and lowered where the T-STD limit asks. So a delay raised while an
// input ran short (a loaded box, a bursty source) comes down again at the next input by as
// much as the output's gap between the two allows: the old input's pictures still play out
// whole, and the channel's latency (an alert's time to the screen) does not ratchet up.
//
// The delay aims HEADROOM above the minimum; while running, a PES that comes within SOFT of the
// minimum asks for a raise that waits for the next video keyframe (a step of every timestamp is
// least visible there), one below the minimum for a raise at once. Times are 27 MHz ticks; the
// delay is a multiple of 300.

import { PCR_HZ } from '../packet.js';

const MS = PCR_HZ / 1000;
/** T-STD: DTS − arrival ≤ 1 s (ISO/IEC 13818-1 §2.4.2.6). */
export const T_STD_MAX = 1000 * MS;
/**
 * The delay aims this far above the least margin, so that the ups and downs of one input's
 * margins (where its PES fall between PCRs) do not ask for a raise at every new low.
 */
const HEADROOM = 60 * MS;
/** A margin less than this above the minimum asks for a raise at the next keyframe. */
const SOFT = 30 * MS;
/**
 * Kept below the T-STD limit when the delay is decided: later PES of the input may wait a
 * little longer than the first segment's did (the delay is never lowered while running).
 */
const CAP_SLACK = 50 * MS;
/**
 * How much closer to its deadline a stream that has no PES in a new input's first segment may
 * be than the closest one there: audio muxed after the video, several frames to a PES.
 */
const UNSEEN_SPREAD = 200 * MS;

export class DecodeDelay {
  /** The delay in force (27 MHz, a multiple of 300). */
  value = 0;
  /** A new input whose delay is decided at its first segment with PES. */
  pending = false;
  /** Times the delay was raised while running (each a step of every stream's timestamps). */
  raises = 0;
  /** Lowest and highest DTS − PCR of any PES so far, with the delay (27 MHz). */
  min = Infinity;
  max = -Infinity;
  private readonly minMargin: number;
  /** A raise that waits for the next video keyframe (0: none). */
  private raiseTo = 0;
  /** Largest DTS − PCR without the delay on this input: caps the delay. */
  private maxRaw = -Infinity;

  /**
   * @param allowance how much later than its input time a packet may leave (VBR smoothing,
   *   vbr-smoothing.ts), 27 MHz: every delay chosen covers it, so that a margin measured while
   *   the output trails little does not fall short once it trails more.
   */
  constructor(
    minMarginMs: number,
    public allowance = 0,
  ) {
    this.minMargin = Math.max(0, Math.min(900, minMarginMs)) * MS;
  }

  /** What deciding and raising go on from (a remuxer resumed where another was cut). */
  inputState(): { pending: boolean; raiseTo: number; maxRaw: number } {
    return { pending: this.pending, raiseTo: this.raiseTo, maxRaw: this.maxRaw };
  }

  resumeInput(s: { pending: boolean; raiseTo: number; maxRaw: number }): void {
    this.pending = s.pending;
    this.raiseTo = s.raiseTo;
    this.maxRaw = s.maxRaw;
  }

  /** A raise waits for the next video keyframe. */
  get awaitsKeyframe(): boolean {
    return this.raiseTo > this.value;
  }

  /**
   * The first segment with PES of a new input: the least and largest DTS − PCR there without
   * the delay (27 MHz), whether some PES stream of the program had no PES in it, and the least
   * delay with which every PES there presents after the last one sent on its PID (27 MHz;
   * −Infinity: no PID sent one yet).
   */
  decide(minRaw: number, maxRaw: number, unseen: boolean, floor: number): void {
    if (unseen) minRaw -= UNSEEN_SPREAD;
    let d = Math.max(floor, this.minMargin + HEADROOM + this.allowance - minRaw);
    d = Math.min(d, T_STD_MAX - CAP_SLACK - maxRaw);
    this.value = Math.max(0, Math.ceil(d / 300) * 300);
    this.maxRaw = maxRaw;
    this.raiseTo = 0;
    this.pending = false;
  }

  /**
   * One PES: `raw` its DTS − PCR without the delay as it leaves; `rawIn` the same had it left
   * at its input's own spacing (raw less the lag the allowance covers); `atLeast` a delay it
   * needs to present after the PID's last PES (0: none); `keyframe` it starts a video access
   * point. Returns true when the delay changed.
   *
   * A raise aims as decide() does, from rawIn: taken from raw, the lag the output trailed by
   * at that moment (up to the whole allowance) would be counted twice.
   */
  check(raw: number, rawIn: number, atLeast: number, keyframe: boolean): boolean {
    if (raw > this.maxRaw) this.maxRaw = raw;
    let want = Math.max(this.value, atLeast);
    if (raw + this.value < this.minMargin + SOFT) {
      const target = Math.max(
        this.minMargin + HEADROOM + this.allowance - rawIn,
        this.minMargin + HEADROOM - raw,
      );
      if (keyframe || raw + this.value < this.minMargin) want = Math.max(want, target);
      else if (target > this.raiseTo) this.raiseTo = target;
    }
    if (keyframe && this.raiseTo > want) want = this.raiseTo;
    let changed = false;
    if (want > this.value) {
      const step = Math.min(want - this.value, T_STD_MAX - this.maxRaw - this.value);
      if (step > 0) {
        this.value += Math.ceil(step / 300) * 300;
        this.raises++;
        changed = true;
      }
    }
    if (this.raiseTo <= this.value) this.raiseTo = 0;
    const margin = raw + this.value;
    if (margin < this.min) this.min = margin;
    if (margin > this.max) this.max = margin;
    return changed;
  }
}
