// PidPlan (src/mpegts/pid-plan.ts): the SI PIDs first, then the PMT PIDs of the wanted
// services once the PAT is in, then each PMT's PCR and elementary PIDs; a changed service set
// or PMT changes the set. Hand-built PAT and PMT sections (ISO/IEC 13818-1 §2.4.4.3, §2.4.4.8).
import t from 'tap';
import { ALL_SERVICES, PidPlan, SI_PIDS } from '../../src/mpegts/pid-plan.js';
import { serializePat } from '../../src/mpegts/psi/pat.js';
import { serializePmt } from '../../src/mpegts/psi/pmt.js';
import { packetizeSections } from '../../src/mpegts/psi/section.js';

/** Continuity counters per PID across feeds (a repeated CC would be a duplicate packet). */
const ccs = new Map<number, number>();
function feed(plan: PidPlan, pid: number, sections: Uint8Array[]): void {
  const packets = packetizeSections(sections, pid, ccs.get(pid) ?? 0);
  ccs.set(pid, ((ccs.get(pid) ?? 0) + packets.length / 188) & 15);
  for (let o = 0; o < packets.length; o += 188) plan.packet(packets, o);
}
const PAT = serializePat({
  transportStreamId: 1,
  version: 0,
  programs: [
    { programNumber: 0, pid: 0x10 },
    { programNumber: 101, pid: 0x100 },
    { programNumber: 102, pid: 0x200 },
  ],
});
const pmt = (n: number, pcr: number, es: number[], version = 0): Uint8Array =>
  serializePmt({
    programNumber: n,
    version,
    pcrPid: pcr,
    programInfo: [],
    streams: es.map((pid) => ({ streamType: 0x1b, pid, descriptors: [] })),
  });

t.test('widens as PAT and PMTs arrive; follows the services', async (t) => {
  const seen: number[][] = [];
  const plan = new PidPlan(new Set([102]), (p) => seen.push([...p]));
  t.same(plan.pids, SI_PIDS, 'before the PAT: SI only');
  feed(plan, 0, PAT);
  t.same(plan.pids, [...SI_PIDS, 0x200], 'the PMT of 102');
  feed(plan, 0x100, [pmt(101, 0x101, [0x101, 0x102])]);
  t.same(plan.pids, [...SI_PIDS, 0x200], "101's PMT is not read: not wanted");
  feed(plan, 0x200, [pmt(102, 0x1ff, [0x201, 0x202])]);
  t.same(plan.pids, [...SI_PIDS, 0x1ff, 0x200, 0x201, 0x202], 'PCR and streams of 102');
  plan.setServices(new Set([101, 102]));
  t.same(plan.pids, [...SI_PIDS, 0x100, 0x1ff, 0x200, 0x201, 0x202], '101 added: its PMT PID');
  feed(plan, 0x100, [pmt(101, 0x101, [0x101, 0x102])]);
  t.same(plan.pids, [...SI_PIDS, 0x100, 0x101, 0x102, 0x1ff, 0x200, 0x201, 0x202]);
  feed(plan, 0x200, [pmt(102, 0x201, [0x201, 0x203], 1)]);
  t.same(plan.pids, [...SI_PIDS, 0x100, 0x101, 0x102, 0x200, 0x201, 0x203], 'a new PMT version');
  plan.setServices(new Set([101]));
  t.same(plan.pids, [...SI_PIDS, 0x100, 0x101, 0x102], '102 removed');
  t.equal(seen.length, 6, 'onChange once per change');
});

t.test('undefined takes the first program; ALL_SERVICES every program', async (t) => {
  const first = new PidPlan(new Set([undefined]));
  feed(first, 0, PAT);
  t.same(first.pids, [...SI_PIDS, 0x100]);
  const all = new PidPlan(new Set([ALL_SERVICES]));
  feed(all, 0, PAT);
  t.same(all.pids, [...SI_PIDS, 0x100, 0x200]);
  all.reset();
  t.same(all.pids, SI_PIDS, 'reset: the tables are forgotten');
});
