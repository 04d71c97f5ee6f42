// NIT, TDT and TOT on a remuxer's output (network-tables.ts): the NIT exactly as given, the
// TDT/TOT stamped with the UTC time of their place in the output, the TOT's local time offset
// across a DST change (Europe/Berlin, 2026-03-29 01:00 UTC), each table at its interval, and
// continuity counters unbroken on PIDs 0x0010 and 0x0014 (ETSI EN 300 468 §5.2.1, §5.2.5-6).
import t from 'tap';
import { Remuxer } from '../../../src/mpegts/remux/remuxer.js';
import { getPid, payloadUnitStart, PCR_HZ } from '../../../src/mpegts/packet.js';
import { serializeNit, NIT_PID } from '../../../src/mpegts/psi/nit.js';
import { parseTdt, parseTot, TDT_TOT_PID } from '../../../src/mpegts/psi/tdt-tot.js';
import { LocalTime } from '../../../src/scheduler/timezone.js';
import { serializeEitPf } from '../../../src/mpegts/psi/eit.js';
import { serializeEitSchedule } from '../../../src/mpegts/psi/eit-schedule.js';
import { crc32Mpeg2 } from '../../../src/mpegts/crc32.js';
import { synthesize, simpleProgram } from '../../helpers/synth.js';
import { checkStream, collector } from '../../helpers/ts-check.js';

const NIT = serializeNit({
  networkId: 0xff01,
  version: 5,
  networkName: 'Hotel',
  networkDescriptors: [],
  transportStreams: [
    {
      transportStreamId: 101,
      originalNetworkId: 0xff01,
      services: [{ serviceId: 101, serviceType: 1 }],
      logicalChannels: [{ serviceId: 101, visible: true, lcn: 101 }],
      otherDescriptors: [],
    },
  ],
});

/** One program of `durationMs` at 2 Mbit/s, PCR every 30 ms (test/helpers/synth.ts). */
function input(durationMs: number, withSdt = false): { ts: Uint8Array } {
  return synthesize({
    programs: [simpleProgram(1, 0x44, 0x50)],
    durationMs,
    muxRate: 2e6,
    pcrIntervalMs: 30,
    withSdt,
  });
}

/** Output time (ms after PCR value `pcr0`) of packet i, interpolated between the PCRs. */
function outputTimeMs(pcrs: [number, number][], pcr0: number): (i: number) => number {
  return (i) => {
    let k = pcrs.findIndex(([j]) => j > i);
    if (k <= 0) k = k === 0 ? 1 : pcrs.length - 1;
    const [i0, p0] = pcrs[k - 1];
    const [i1, p1] = pcrs[k];
    return (p0 + ((p1 - p0) * (i - i0)) / (i1 - i0) - pcr0) / (PCR_HZ / 1000);
  };
}

/** Sections starting on `pid` (one packet each here), with the output time of their packet. */
function sectionsOn(ts: Uint8Array, pid: number, timeOf: (i: number) => number) {
  const out: { i: number; ms: number; section: Uint8Array }[] = [];
  for (let i = 0; i * 188 < ts.length; i++) {
    const o = i * 188;
    if (getPid(ts, o) !== pid || !payloadUnitStart(ts, o)) continue;
    const p = o + 5 + ts[o + 4];
    const len = 3 + (((ts[p + 1] & 0x0f) << 8) | ts[p + 2]);
    out.push({ i, ms: timeOf(i), section: ts.slice(p, p + len) });
  }
  return out;
}

t.test(
  'NIT as given, TDT/TOT on UTC time and across a DST change, at their intervals',
  async (t) => {
    const { ts } = input(14_000, true);
    const c = collector();
    const berlin = new LocalTime('Europe/Berlin', 'DEU');
    const r = new Remuxer(
      {
        programNumber: 101,
        transportStreamId: 101,
        psiIntervalMs: 100,
        network: {
          nitIntervalMs: 2000,
          timeIntervalMs: 3000,
          localTimeOffsets: (u) => berlin.offsets(u),
        },
      },
      c.sink,
    );
    r.setNit(NIT);
    // The first output PCR leaves at 00:59:54.300 UTC: the change to CEST comes ~5.7 s in.
    const first = 188 * 2000;
    r.push(ts.subarray(0, first));
    const head = checkStream(c.bytes(), 0x100, 0x1000);
    t.ok(head.pcrs.length > 0, 'PCRs out');
    const [, pcr0] = head.pcrs[0];
    const utc0 = Date.UTC(2026, 2, 29, 0, 59, 54, 300);
    r.setUtcReference(pcr0, utc0);
    r.push(ts.subarray(first));
    r.end();
    const out = c.bytes();
    const chk = checkStream(out, 0x100, 0x1000);
    t.equal(chk.ccErrors, 0, 'no CC error on any PID, 0x0010 and 0x0014 included');
    const pcrs = chk.pcrs;
    const timeOf = outputTimeMs(pcrs, pcr0);
    const outMs = timeOf(Math.floor(out.length / 188) - 1);

    const nits = sectionsOn(out, NIT_PID, timeOf);
    t.ok(nits.length >= Math.floor(outMs / 2000), `NIT every 2 s (${nits.length} in ${outMs} ms)`);
    t.ok(
      nits.every((n) => Buffer.compare(n.section, NIT[0]) === 0),
      'each NIT byte-exact as given (version 5)',
    );
    const nitGaps = nits.slice(1).map((n, k) => n.ms - nits[k].ms);
    t.ok(Math.max(...nitGaps) <= 2000 + 100 + 40, `NIT gaps ≤ 2.14 s (${Math.max(...nitGaps)})`);

    const time = sectionsOn(out, TDT_TOT_PID, timeOf).filter((s) => s.ms >= 0);
    const tdts = time.filter((s) => s.section[0] === 0x70);
    const tots = time.filter((s) => s.section[0] === 0x73);
    t.ok(tdts.length >= 4, `TDTs out (${tdts.length})`);
    t.equal(tots.length, tdts.length, 'a TOT with each TDT');
    for (const s of tdts) {
      const utc = parseTdt(s.section).utc.getTime();
      const at = utc0 + s.ms;
      t.ok(
        Math.abs(utc - at) <= 500,
        `TDT ${new Date(utc).toISOString()} sent at ${new Date(at).toISOString()}`,
      );
    }
    // After the first, each is aimed at a whole second: at most one PSI interval (+ a PCR step) late.
    for (const s of tdts.slice(1)) {
      const late = utc0 + s.ms - parseTdt(s.section).utc.getTime();
      t.ok(late >= -1 && late <= 140, `TDT ${late.toFixed(0)} ms after its second`);
    }
    const tdtGaps = tdts.slice(1).map((s, k) => s.ms - tdts[k].ms);
    t.ok(Math.max(...tdtGaps) <= 3000 + 140, `TDT/TOT gaps ≤ 3.14 s (${Math.max(...tdtGaps)})`);
    const before = tots
      .map((s) => parseTot(s.section))
      .filter((x) => x.utc.getTime() < Date.UTC(2026, 2, 29, 1));
    const after = tots
      .map((s) => parseTot(s.section))
      .filter((x) => x.utc.getTime() >= Date.UTC(2026, 2, 29, 1));
    t.ok(before.length > 0 && after.length > 0, 'TOTs on both sides of the change');
    t.same(before[0].offsets, [
      {
        countryCode: 'DEU',
        regionId: 0,
        offsetMinutes: 60,
        timeOfChange: new Date(Date.UTC(2026, 2, 29, 1)),
        nextOffsetMinutes: 120,
      },
    ]);
    t.same(after[0].offsets, [
      {
        countryCode: 'DEU',
        regionId: 0,
        offsetMinutes: 120,
        timeOfChange: new Date(Date.UTC(2026, 9, 25, 1)),
        nextOffsetMinutes: 60,
      },
    ]);
  },
);

t.test('without a NIT or a UTC reference: no PID 0x0010 or 0x0014 at all', async (t) => {
  const { ts } = input(3000);
  const c = collector();
  const r = new Remuxer({}, c.sink);
  r.push(ts);
  r.end();
  const chk = checkStream(c.bytes(), 0x100, 0x1000);
  t.equal(chk.pids.get(NIT_PID), undefined);
  t.equal(chk.pids.get(TDT_TOT_PID), undefined);
  t.ok((chk.pids.get(0) ?? 0) > 20, 'PAT as before');
});

t.test('setNit(null) takes the NIT off; a new NIT goes out with the next PSI block', async (t) => {
  const { ts } = input(6000);
  const c = collector();
  const r = new Remuxer({ network: { nitIntervalMs: 10_000 } }, c.sink);
  const third = Math.floor(ts.length / 188 / 3) * 188;
  r.setNit(NIT);
  r.push(ts.subarray(0, third));
  const n1 = c.bytes().length;
  const v6 = serializeNit({
    ...{ networkId: 0xff01, networkName: 'Hotel 2' },
    version: 6,
    networkDescriptors: [],
    transportStreams: [],
  });
  r.setNit(v6);
  r.push(ts.subarray(third, 2 * third));
  const n2 = c.bytes().length;
  r.setNit(null);
  r.push(ts.subarray(2 * third));
  r.end();
  const out = c.bytes();
  const all = sectionsOn(out, NIT_PID, () => 0);
  const inFirst = all.filter((s) => s.i * 188 < n1);
  const inSecond = all.filter((s) => s.i * 188 >= n1 && s.i * 188 < n2);
  const inThird = all.filter((s) => s.i * 188 >= n2);
  t.equal(inFirst.length, 1, 'one NIT in the first 2 s at a 10 s interval');
  t.equal(inSecond.length, 1, 'the new NIT at once, not after 10 s');
  t.same([...inSecond[0].section], [...v6[0]], 'the new one');
  t.equal(inThird.length, 0, 'none after setNit(null)');
});

t.test('EIT p/f: every ≤ 1.65 s, version moved on a change, the SDT flag follows', async (t) => {
  const { ts } = input(9000);
  const c = collector();
  const r = new Remuxer({ programNumber: 9, transportStreamId: 9 }, c.sink);
  const pf = (name: string) => (version: number) =>
    serializeEitPf({
      serviceId: 9,
      transportStreamId: 9,
      originalNetworkId: 0xff01,
      version,
      present: {
        eventId: 1,
        startTime: new Date(Date.UTC(2026, 11, 4, 18)),
        durationSec: 3600,
        runningStatus: 4,
        freeCaMode: false,
        shortEvent: { language: 'eng', name, text: '' },
        otherDescriptors: [],
      },
      following: null,
    });
  const third = Math.floor(ts.length / 188 / 3) * 188;
  r.setEitPf(pf('A'));
  r.push(ts.subarray(0, third));
  r.setEitPf(pf('A')); // the same content: no new version
  r.push(ts.subarray(third, 2 * third));
  const n2 = c.bytes().length;
  r.setEitPf(pf('B'));
  r.push(ts.subarray(2 * third));
  const n3 = c.bytes().length;
  r.setEitPf(null);
  r.end();
  const out = c.bytes();
  const chk = checkStream(out, 0x100, 0x1000);
  t.equal(chk.ccErrors, 0);
  const timeOf = outputTimeMs(chk.pcrs, 0);
  const eit = sectionsOn(out, 0x12, timeOf).filter((s) => s.section[0] === 0x4e);
  const before = eit.filter((s) => s.i * 188 < n2);
  const after = eit.filter((s) => s.i * 188 >= n2 && s.i * 188 < n3);
  t.ok(before.length >= 8, `p/f sections before the change (${before.length})`);
  t.same(
    new Set(before.map((s) => (s.section[5] >> 1) & 0x1f)),
    new Set([0]),
    'version 0 throughout',
  );
  t.same(
    new Set(after.map((s) => (s.section[5] >> 1) & 0x1f)),
    new Set([1]),
    'version 1 after the change',
  );
  const firsts = eit.filter((s) => s.section[6] === 0); // section_number 0
  const gaps = firsts.slice(1).map((s, k) => s.ms - firsts[k].ms);
  t.ok(Math.max(...gaps) <= 1650, `EIT p/f gaps ≤ 1.65 s (max ${Math.max(...gaps).toFixed(0)} ms)`);
  t.equal(eit.filter((s) => s.i * 188 >= n3).length, 0, 'none after setEitPf(null)');
  // SDT (PID 0x11): EIT_present_following_flag = bit 0 of the byte after the service_id.
  const sdts = sectionsOn(out, 0x11, timeOf);
  t.equal(sdts.find((s) => s.i * 188 < n2)!.section[13] & 0x01, 1, 'the SDT says p/f is there');
  t.equal(sdts.at(-1)!.section[13] & 0x01, 0, 'and no more after setEitPf(null)');
});

t.test('EIT schedule: a carousel of whole sections beside p/f on PID 0x0012', async (t) => {
  const { ts } = input(24_000);
  const c = collector();
  const r = new Remuxer({ programNumber: 9, transportStreamId: 9 }, c.sink);
  const day0 = Date.UTC(2026, 11, 4);
  const events = (name: string) =>
    Array.from({ length: 8 * 24 }, (_, h) => ({
      eventId: h,
      startTime: new Date(day0 + h * 3_600_000),
      durationSec: 3600,
      runningStatus: 0,
      freeCaMode: false,
      shortEvent: { language: 'eng', name: `${name} ${h}`, text: 'A programme of the test.' },
      otherDescriptors: [],
    }));
  const ids = { serviceId: 9, transportStreamId: 9, originalNetworkId: 0xff01 };
  const v0 = serializeEitSchedule({ ...ids, version: 0 }, day0, 8, events('Old'));
  const v1 = serializeEitSchedule({ ...ids, version: 1 }, day0, 8, events('New'));
  const half = Math.floor(ts.length / 188 / 2) * 188;
  r.setEitPf((version) =>
    serializeEitPf({ ...ids, version, present: events('Now')[0], following: null }),
  );
  r.setEitSchedule(v0);
  r.push(ts.subarray(0, half));
  r.setEitSchedule(v1);
  r.push(ts.subarray(half));
  r.end();
  const out = c.bytes();
  const chk = checkStream(out, 0x100, 0x1000);
  t.equal(chk.ccErrors, 0, 'p/f and schedule share the PID and its counter');
  // Reassemble every section on 0x0012: none may be cut by another.
  const sections: { at: number; s: Uint8Array }[] = [];
  let cut = 0;
  let cur: number[] | null = null;
  for (let i = 0; i * 188 < out.length; i++) {
    const o = i * 188;
    if (getPid(out, o) !== 0x12) continue;
    const pay = out.subarray(o + 4, o + 188);
    if (payloadUnitStart(out, o)) {
      if (cur !== null) cut++;
      cur = [...pay.subarray(1 + pay[0])];
    } else if (cur !== null) cur.push(...pay);
    if (cur !== null && cur.length >= 3) {
      const len = 3 + (((cur[1] & 0x0f) << 8) | cur[2]);
      if (cur.length >= len) {
        sections.push({ at: i, s: Uint8Array.from(cur.slice(0, len)) });
        cur = null;
      }
    }
  }
  t.equal(cut, 0, 'no section cut short');
  t.ok(
    sections.every((x) => crc32Mpeg2(x.s) === 0),
    `every section whole (${sections.length})`,
  );
  const sched = sections.filter((x) => x.s[0] >= 0x50);
  const key = (s: Uint8Array) => `${s[0]}/${s[6]}/${(s[5] >> 1) & 0x1f}`;
  const seenOld = new Set(sched.filter((x) => ((x.s[5] >> 1) & 0x1f) === 0).map((x) => key(x.s)));
  const seenNew = new Set(sched.filter((x) => ((x.s[5] >> 1) & 0x1f) === 1).map((x) => key(x.s)));
  t.equal(seenOld.size, v0.length, `every section of version 0 went out (${v0.length})`);
  t.equal(seenNew.size, v1.length, 'then every section of version 1');
  const lastOld = Math.max(...sched.filter((x) => ((x.s[5] >> 1) & 0x1f) === 0).map((x) => x.at));
  const firstNew = Math.min(...sched.filter((x) => ((x.s[5] >> 1) & 0x1f) === 1).map((x) => x.at));
  t.ok(lastOld < firstNew, 'the new version takes over at the end of a cycle');
  const pfCount = sections.filter((x) => x.s[0] === 0x4e).length;
  t.ok(pfCount > 20, `p/f keeps going beside it (${pfCount} sections)`);
  // One cycle: version 1's sections, by output time.
  const timeOf = outputTimeMs(chk.pcrs, 0);
  const newer = sched.filter((x) => ((x.s[5] >> 1) & 0x1f) === 1);
  const firstSec = newer.filter((x) => x.s[0] === 0x50 && x.s[6] === 0).map((x) => timeOf(x.at));
  const cycle = firstSec[1] - firstSec[0];
  t.ok(cycle > 4000 && cycle < 12_000, `a cycle every ${cycle.toFixed(0)} ms (aimed at 8 s)`);
  const sdt = sectionsOn(out, 0x11, timeOf).at(-1)!.section;
  t.equal(sdt[13] & 0x03, 0x03, 'the SDT flags schedule and p/f');
});
