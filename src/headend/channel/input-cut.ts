// Make-before-break of a channel's input across a move or a rebuild: the old channel's remuxer
// stops reading just before an input PCR (Remuxer.cutAtNextAnchor), and the channel that takes
// its output over reads the same source run on from that very packet (SourceHub.subscribe
// `from`, recent-bytes.ts) with the remuxer's input state (Remuxer.resume / readOn): no splice,
// so no wait for the source's next random access point (up to a GOP of pictures and sound lost
// before). When the run's bytes from the packet are not there any more (a new run, a source
// that does not keep them, a slow hand-over), the first bytes that come show it, and the output
// is spliced to them as before.

import type { RemuxerInputState } from '../../mpegts/remux/types.js';

/** A source as a channel reads it: its hub key and the service it takes. */
export interface SourceRef {
  key: string;
  service?: number;
}

/** Where a kept or handed-over output's input was cut: the state, and the source it read. */
export interface InputCut extends SourceRef {
  input: RemuxerInputState;
}

/** Whether `chunk` begins with `packet` (the source's bytes go on from the cut). */
export function startsWithPacket(chunk: Uint8Array, packet: Uint8Array): boolean {
  if (chunk.length < packet.length) return false;
  for (let i = 0; i < packet.length; i++) if (chunk[i] !== packet[i]) return false;
  return true;
}
