// Output PIDs by stream kind: the part of a channel's output identity that makes a source change
// invisible to set-top boxes. The n-th video stream of whatever source feeds the channel always
// leaves on the same PID, and so on for audio, subtitles/teletext and data.
//   video    base + 0x00..0x0F
//   audio    base + 0x10..0x1F
//   subtitle/teletext base + 0x20..0x2F
//   scte35/data       base + 0x30..0x3F
//   PCR-only PID (when the input's PCR PID carries no stream) base + 0x40

import type { StreamKind } from '../stream-types.js';

const GROUP: Record<StreamKind, number> = {
  video: 0x00,
  audio: 0x10,
  subtitle: 0x20,
  teletext: 0x20,
  scte35: 0x30,
  data: 0x30,
};

export const PCR_ONLY_OFFSET = 0x40;

/** Output PID per stream (by index), or -1 for a stream beyond 16 of its group (dropped). */
export function assignOutputPids(kinds: readonly StreamKind[], basePid: number): number[] {
  const used = new Map<number, number>();
  return kinds.map((k) => {
    const g = GROUP[k];
    const n = used.get(g) ?? 0;
    used.set(g, n + 1);
    return n < 16 ? basePid + g + n : -1;
  });
}
