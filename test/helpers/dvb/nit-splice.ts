// Splices a NIT actual (EN 300 468 §5.2.1) into a transport stream file, for the scan tests:
// ffmpeg's MPTS carries PAT, PMTs and SDT but no NIT, so no logical channel numbers. The NIT's
// packets (serializeNit + packetizeSections, PID 0x0010) are inserted every `every` packets,
// with a continuous continuity_counter, the rest of the file unchanged.

import { readFileSync, writeFileSync } from 'node:fs';
import { NIT_PID, serializeNit, type Nit } from '../../../src/mpegts/psi/nit.js';
import { packetizeSections } from '../../../src/mpegts/psi/section.js';
import { ServiceScanner } from '../../../src/mpegts/service-scan.js';

/** The transport_stream_id and original_network_id the file's PAT and SDT give. */
export function streamIds(file: string): { tsid: number; onid: number } {
  const s = new ServiceScanner({ clock: 'pcr', nitWaitMs: 0 });
  s.push(readFileSync(file));
  const r = s.result();
  if (r.transportStreamId === undefined || r.originalNetworkId === undefined) {
    throw new Error(`${file}: no PAT or no SDT`);
  }
  return { tsid: r.transportStreamId, onid: r.originalNetworkId };
}

export function spliceNit(file: string, nit: Nit, every = 100): void {
  const input = readFileSync(file);
  const sections = serializeNit(nit);
  const per = packetizeSections(sections, NIT_PID).length / 188;
  const packets = Math.floor(input.length / 188);
  const out = Buffer.alloc((packets + Math.ceil(packets / every) * per) * 188);
  let o = 0;
  let cc = 0;
  for (let i = 0; i < packets; i++) {
    if (i % every === 0) {
      const nitPackets = packetizeSections(sections, NIT_PID, cc);
      out.set(nitPackets, o);
      o += nitPackets.length;
      cc = (cc + per) & 0x0f;
    }
    input.copy(out, o, i * 188, i * 188 + 188);
    o += 188;
  }
  writeFileSync(file, out.subarray(0, o));
}
