// handOff (src/headend/channel/output-handoff.ts): a running output handed to another thread.
// The kept output's remuxer flushes what it holds into its own queue; the RTP sequence the new
// queue goes on from is read once the draining queue has said it sends whole (sendWhole): a
// stand-in queue takes one more datagram in two parts before it answers, as the pacing thread
// can (burst-limit.ts rule 2), and that number is not used twice. Before the fix the count was
// read at once, and the new queue's first sequence number repeated the old one's last.
import t from 'tap';
import { handOff } from '../../../src/headend/channel/output-handoff.js';
import type { RunningOutput } from '../../../src/headend/channel/channel-output.js';
import type { OutputQueue } from '../../../src/headend/channel/types.js';
import type { OutputMonitor } from '../../../src/headend/channel/output-monitor.js';
import { Remuxer } from '../../../src/mpegts/remux/remuxer.js';
import { ClockMap } from '../../../src/scheduler/clock-map.js';
import { DatagramCutter } from '../../../src/scheduler/datagram-cutter.js';
import { simpleProgram, synthesize } from '../../helpers/synth.js';

t.test('the sequence to go on from counts the parts sent until sendWhole settles', async (t) => {
  const stats = {
    sent: 0,
    dropped: 0,
    lateNs: 0,
    bytes: 0,
    split: 3,
    lateness: { buckets: [], counts: [], sumSeconds: 0, count: 0 },
  };
  let enqueued = 0;
  let whole = false;
  const queue: OutputQueue = {
    enqueue: () => {
      enqueued++;
      return true;
    },
    stats,
    ready: Promise.resolve(new Error('not opened')),
    rtp: { ssrc: 0x1234, seq: 65530 },
    addDestination: () => Promise.resolve(),
    removeDestination: () => Promise.resolve(),
    sendWhole: async () => {
      await new Promise((r) => setTimeout(r, 5));
      stats.split++; // split by the pacing thread before the request reached it
      whole = true;
    },
  };
  const clock = new ClockMap({ latencyMs: 100 });
  const kept: RunningOutput = {
    remuxer: undefined as unknown as Remuxer,
    cutter: new DatagramCutter({ packetsPerDatagram: 7 }, (bytes, t27) => {
      queue.enqueue(bytes, clock.dueNs(t27, 0), t27);
      kept.queued++;
    }),
    clock,
    queue,
    monitor: undefined as unknown as OutputMonitor,
    packetsPerDatagram: 7,
    lastDueNs: 0,
    lastPcr27: 0,
    queued: 0,
  };
  kept.remuxer = new Remuxer({ cbrBitrate: 4e6 }, kept.cutter.push);
  const { ts } = synthesize({ programs: [simpleProgram(1)], durationMs: 300, muxRate: 3e6 });
  kept.remuxer.push(ts);
  const before = enqueued;
  t.ok(before > 0, `${before} datagrams queued while it ran`);
  const h = await handOff(kept, () => 0);
  t.ok(whole, 'the draining queue was told to send whole');
  t.ok(enqueued >= before, `what the remuxer held went to its own queue (${enqueued - before})`);
  t.equal(h.rtp.ssrc, 0x1234, 'the same SSRC');
  t.equal(
    h.rtp.seq,
    (65530 + enqueued + 4) & 0xffff,
    'the next sequence: after every datagram queued and every part, the last one included',
  );
});
