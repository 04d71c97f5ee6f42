// samples/sample.ts remuxed (Remuxer, PCR at datagram heads) and cut into 7-packet datagrams,
// each with its output time: a channel's output as its tap gives it, for the tests of what
// reads that output (stream-start, HLS).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Remuxer } from '../../src/mpegts/remux/remuxer.js';
import { DatagramCutter } from '../../src/scheduler/datagram-cutter.js';

const SAMPLE = fileURLToPath(new URL('../../../samples/sample.ts', import.meta.url));

export function remuxedSample(): { bytes: Uint8Array; t27: number }[] {
  const input = readFileSync(SAMPLE);
  const out: { bytes: Uint8Array; t27: number }[] = [];
  const cut = new DatagramCutter({ packetsPerDatagram: 7 }, (bytes, t27) =>
    out.push({ bytes: bytes.slice(), t27 }),
  );
  const r = new Remuxer({ pcrAlign: 7 }, cut.push);
  for (let o = 0; o < input.length; o += 1316) r.push(input.subarray(o, o + 1316));
  r.end();
  return out;
}
