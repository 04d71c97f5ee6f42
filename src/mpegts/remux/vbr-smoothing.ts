// VBR smoothing: how long, on the output clock, a VBR segment's slots last.
//
// Why: an encoder or muxer delivers a picture as one burst. ffmpeg's MPEG-TS muxer, for one, puts
// a frame's ~130 packets back to back and a PCR every 20 ms, so one input segment (the packets
// between two PCRs) holds a whole frame and the next one holds only a PCR. Laid out over its own
// span, each segment makes the output rate swing between twice the mean and nothing every 20
// ms; worse, the sparse segment's few packets fill 7-packet datagrams only with the next
// segment's, so a datagram leaves at its first packet's time carrying PCRs 20 ms younger (PCR
// jitter on the wire, as large as the PCR spacing).
//
// How: the output may run behind the input by a lag of at most `maxLag` (and never ahead of it:
// nothing leaves before it arrived). Each segment's n content packets get n × the mean packet
// spacing of the recent input (the remuxer's 2-second rate), so the output rate follows the
// mean, not the bursts; the lag absorbs the difference. A sparse segment then takes almost no
// output time and the next dense one spreads into it. Where the bounds bind (a lasting rate
// change, a picture bigger than the lag can hold), the segment is laid out over whatever span
// keeps the lag within [0, maxLag]: at worst the unsmoothed layout, `maxLag` later. A gentle
// pull (PULL_TICKS) brings a standing lag back towards zero so the added delay does not stay.
//
// The PCR of every slot is still its own output time (TR 101 290 2.4 holds by construction);
// PTS/DTS do not move, so the decode margin of a packet shrinks by the lag it leaves with: the
// remuxer's decode delay allows for maxLag (decode-delay.ts). Times are 27 MHz ticks.

/** The lag is pulled back towards zero over this much input time (1 s). */
const PULL_TICKS = 27_000_000;

/**
 * The output span of a VBR segment: input span `d` (> 0) holding `n` content packets, output
 * continuing `lag` ticks behind the segment's input start (lag ≥ 0), `ticksPerPacket` the
 * recent mean input spacing, `maxLag` the most the output may trail. The span keeps the lag
 * after it (lag + span − d) within [0, maxLag] and is > 0.
 */
export function smoothedSpan(
  d: number,
  n: number,
  lag: number,
  ticksPerPacket: number,
  maxLag: number,
): number {
  const base = n * ticksPerPacket;
  let span = base - lag * Math.min(1, d / PULL_TICKS);
  const least = Math.max(base / 2, Math.min(d, ticksPerPacket));
  if (span < least) span = least;
  const hi = d - lag + maxLag;
  if (span > hi) span = hi;
  const lo = d - lag;
  if (span < lo) span = lo;
  return span > 0 ? span : least;
}
