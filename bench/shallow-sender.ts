// The sending side of bench/shallow.ts, run by it inside the `snd` namespace (bench/netns.ts):
// one headend channel, 4 Mbit/s CBR — the looped clip fed at its own PCR pace like a live source
// → Remuxer → PacedSink (DatagramCutter → ClockMap) → Pacer/Output — to one multicast group out
// of s0. Prints its channel's counters as one JSON line when done.
//
//   node dist/bench/shallow-sender.js <clip.ts> <clip.json> <group> <port> <seconds>
import './in-snd.js'; // first: only inside the bench's private snd namespace
import { readFileSync } from 'node:fs';
import { Remuxer } from '../src/mpegts/remux/remuxer.js';
import { TS_PACKET_SIZE } from '../src/mpegts/packet.js';
import { Pacer } from '../src/scheduler/pacer.js';
import { OUTPUT_MODULE } from '../src/headend/output/output.js';
import { PacedSink } from '../src/scheduler/paced-sink.js';
import { chunkTimes, loopClip, type Clip } from './input.js';
import { SND_ADDR } from './netns.js';

const RATE = 4e6;
const DG = 7 * TS_PACKET_SIZE;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const nowNs = (): number => Number(process.hrtime.bigint());

async function main(): Promise<void> {
  const [clipFile, clipJson, group, port, secondsArg] = process.argv.slice(2);
  const seconds = Number(secondsArg);
  const clip: Clip = {
    ...(JSON.parse(readFileSync(clipJson, 'utf8')) as Omit<Clip, 'bytes'>),
    bytes: new Uint8Array(readFileSync(clipFile)),
  };
  const input = loopClip(clip, Math.ceil(((seconds + 3) * clip.bitrate) / 8 / TS_PACKET_SIZE));
  const times = chunkTimes(input);

  const pacer = new Pacer({ outputModule: OUTPUT_MODULE });
  const handle = pacer.addChannel({
    id: 'shallow',
    output: {
      protocol: 'udp',
      group,
      port: Number(port),
      ttl: 1,
      tos: 0,
      interface: SND_ADDR,
      packetsPerDatagram: 7,
    },
  });
  const sink = new PacedSink(handle, { packetsPerDatagram: 7, latencyMs: 100 });
  const remux = new Remuxer({ cbrBitrate: RATE, serviceName: 'Shallow', pcrAlign: 7 }, sink.push);
  const r = await handle.ready;
  if (r instanceof Error) throw r;

  const start = nowNs();
  for (let next = 0; next < times.length;) {
    const el = (nowNs() - start) / 1e9;
    if (el > seconds) break;
    for (; next < times.length && times[next] <= el; next++)
      remux.push(input.subarray(next * DG, next * DG + DG));
    await sleep(10);
  }
  for (let i = 0; i < 100 && handle.stats.queued > 0; i++) await sleep(20);
  const { sent, dropped, sendErrors, lateNs } = handle.stats;
  await pacer.close();
  process.stdout.write(
    JSON.stringify({ sent, dropped, sendErrors, lateMaxUs: lateNs / 1e3, refused: sink.refused }) +
      '\n',
  );
}

// Stop when the parent goes away (it holds our stdin).
process.stdin.on('end', () => process.exit(1)).resume();
main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
