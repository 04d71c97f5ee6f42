// A running output handed from one thread's channel to another's (a reload that moves a channel
// to another channel worker, lanes/channel-host.ts): the state of its remuxer (output identity:
// PIDs, continuity counters, PSI/SI versions; timeline), its cutter (a datagram begun), its clock
// map (stream time → due time on the process's one monotonic clock) and its RTP stream, as plain
// data. The old thread's queue keeps sending what it holds and is removed once its last datagram
// is due; the new one's first datagram is due after it, continuing every counter, so receivers
// see one stream (ISO/IEC 13818-1 §2.4.3.3: no continuity error; the PCR timeline unbroken).

import type { RemuxerState } from '../../mpegts/remux/types.js';
import type { DatagramCutterState } from '../../scheduler/datagram-cutter.js';
import type { ClockMapState } from '../../scheduler/clock-map.js';
import type { RunningOutput } from './channel-output.js';
import type { InputCut } from './input-cut.js';

export interface OutputHandoff {
  remuxer: RemuxerState;
  cutter: DatagramCutterState;
  clock: ClockMapState;
  packetsPerDatagram: number;
  /** Due time (monotonic ns) and output time (27 MHz) of the last datagram the old queue holds. */
  lastDueNs: number;
  lastPcr27: number;
  /** The RTP stream to continue: its SSRC and the sequence number of the next datagram. */
  rtp: { ssrc: number; seq: number };
  /** Where the remuxer's input was cut (input-cut.ts): the new thread's reads on from there. */
  cut?: InputCut;
}

/**
 * Sends what the kept output's remuxer still holds (the open segment) through its own queue,
 * then takes its state. From here the queue only drains: remove it once `lastDueNs` has passed.
 * A remuxer whose input was cut (Channel.stop) has sent everything before the cut already: it
 * is not spliced, and the cut goes with the state.
 *
 * The RTP sequence to go on from is known once the draining queue sends its datagrams whole
 * (sendWhole): one it sent in two parts took two numbers, and one it split after the count was
 * taken made the new queue's first numbers repeat its last (a receiver drops the repeats).
 */
export async function handOff(kept: RunningOutput, nowNs: () => number): Promise<OutputHandoff> {
  let queued = kept.queued;
  let lastDueNs = kept.lastDueNs;
  let lastPcr27 = kept.lastPcr27;
  kept.cutter.setOut((bytes, t27) => {
    const due = kept.clock.dueNs(t27, nowNs());
    kept.queue.enqueue(bytes, due, t27);
    queued++;
    lastDueNs = due;
    lastPcr27 = t27;
  });
  kept.remuxer.setSink(kept.cutter.push);
  if (!kept.cut) kept.remuxer.splice();
  const state = {
    remuxer: kept.remuxer.state(),
    cutter: kept.cutter.state(),
    clock: kept.clock.state(),
    packetsPerDatagram: kept.packetsPerDatagram,
    lastDueNs,
    lastPcr27,
    ...(kept.cut ? { cut: kept.cut } : {}),
  };
  await kept.queue.sendWhole?.();
  const { ssrc, seq } = kept.queue.rtp;
  return { ...state, rtp: { ssrc, seq: (seq + queued + (kept.queue.stats.split ?? 0)) & 0xffff } };
}
