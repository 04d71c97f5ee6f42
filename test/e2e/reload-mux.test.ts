// Hot reload of mux settings on the real daemon, with the channel's output recorded throughout:
//   1. SIGHUP with a new CBR `bitrate` (1.5M → 2.5M) → `channel-updated`, not restarted: the
//      source runs on, the output shows zero continuity errors (TR 101 290 1.4), no pause between
//      datagrams, and then runs at the new rate (measured from PCR and byte positions);
//   2. packets_per_datagram 7 → 4 and psi_interval 100ms → 50ms → updated in place: datagrams of
//      4 packets from then on, PAT at least every 50 ms;
//   3. bitrate removed (CBR → VBR) → updated in place, no null padding any more.
// Before mux changes were applied in place, step 1 rebuilt the channel: 5 CC errors and a
// 460 ms gap on the wire.
import '../helpers/private-network.js';
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pcrDiff } from '../../src/mpegts/packet.js';
import { checkStream } from '../helpers/ts-check.js';
import {
  analyze,
  check,
  datagramSizes,
  failing,
  marker,
  maxGapMs,
  openRecorder,
  sleep,
  startDaemon,
  stopAndCheck,
  tempDir,
  timed,
} from './helpers.js';
import type { Daemon, Datagram, LogEvent } from './helpers.js';

const GROUP = '239.255.28.1';
const PORT = 6801;
const TEXT = marker('rmux');

function configText(o: { bitrate?: string; ppd?: number; psi?: string }): string {
  return (
    `headend:\n  interface: 127.0.0.1\n  ttl: 1\nchannels:\n` +
    `  - number: 81\n    name: Mux Reload\n    slug: mux-reload\n` +
    `    output: udp://${GROUP}:${PORT}\n    psi_interval: ${o.psi ?? '100ms'}\n` +
    (o.bitrate ? `    bitrate: ${o.bitrate}\n` : '') +
    (o.ppd ? `    packets_per_datagram: ${o.ppd}\n` : '') +
    `    source:\n      test: { pattern: smpte, resolution: 320x180, rate: 15, ` +
    `bitrate: 150k, text: ${TEXT} }\n`
  );
}

/** The TS of the datagrams received between two of our monotonic times. */
function between(dgs: Datagram[], fromNs: number, toNs: number): Uint8Array {
  return Buffer.concat(dgs.filter((g) => g.ns >= fromNs && g.ns < toNs).map((g) => g.data));
}

/** Mux rate from byte positions and PCR values (first to last PCR of the video PID). */
function pcrRate(ts: Uint8Array): number {
  const { pcrs } = checkStream(ts, 0x100, 0x1000);
  const [i0, p0] = pcrs[0];
  const [i1, p1] = pcrs[pcrs.length - 1];
  return ((i1 - i0) * 188 * 8 * 27e6) / pcrDiff(p1, p0);
}

function nulls(ts: Uint8Array): number {
  let n = 0;
  for (let o = 0; o + 188 <= ts.length; o += 188)
    if ((((ts[o + 1] & 0x1f) << 8) | ts[o + 2]) === 0x1fff) n++;
  return n;
}

async function reload(d: Daemon, file: string, text: string): Promise<LogEvent> {
  const from = d.events.length;
  writeFileSync(file, text);
  d.proc.kill('SIGHUP');
  return d.waitFor((e) => e.event === 'reload', 15_000, from);
}

t.test(
  'reload of bitrate, datagram size, PSI interval: in place, no CC error, no gap',
  async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'channels.yaml');
    writeFileSync(file, configText({ bitrate: '1.5M' }));
    const d = startDaemon(t, { file });
    await d.waitFor((e) => e.event === 'ready', 15_000);
    await d.waitFor((e) => e.event === 'source-up', 20_000);
    const rec = await openRecorder(t, GROUP, PORT);
    await sleep(2500);

    // 1. A new CBR rate.
    let from = d.events.length;
    const r1 = await reload(d, file, configText({ bitrate: '2.5M' }));
    const t1 = r1.atNs;
    t.same(r1.updated, ['mux-reload'], 'the rate change is an update');
    t.same(r1.restarted, [], 'nothing restarts');
    const u1 = d.events.slice(from).find((e) => e.event === 'channel-updated');
    t.equal(u1?.bitrate, 2_500_000, 'channel-updated names the new rate');
    t.equal(u1?.previousBitrate, 1_500_000, '… and the old one');
    await sleep(3000);

    // 2. Datagram size and PSI interval.
    from = d.events.length;
    const r2 = await reload(d, file, configText({ bitrate: '2.5M', ppd: 4, psi: '50ms' }));
    const t2 = r2.atNs;
    t.same([r2.updated, r2.restarted], [['mux-reload'], []], 'size and PSI interval: in place');
    await sleep(2500);

    // 3. CBR → VBR.
    const r3 = await reload(d, file, configText({ ppd: 4, psi: '50ms' }));
    const t3 = r3.atNs;
    t.same([r3.updated, r3.restarted], [['mux-reload'], []], 'CBR → VBR: in place');
    await sleep(2500);
    await rec.close();
    const tEnd = rec.datagrams[rec.datagrams.length - 1].ns;

    const all = rec.datagrams;
    const rep = analyze(timed(rec));
    t.equal(check(rep, '1.4').errors, 0, `zero CC errors across the reloads (${failing(rep)})`);
    t.equal(rep.priority1Errors, 0, `no priority-1 error (${failing(rep)})`);
    // PCR accuracy (2.4) over the CBR part, the rate change included (the analyzer's VBR
    // detection needs a recording that is mostly VBR, so the VBR tail is judged apart).
    const cbrRep = analyze(all.filter((g) => g.ns < t3));
    t.equal(
      check(cbrRep, '2.4').errors,
      0,
      `PCR accuracy across the CBR rate change (${failing(cbrRep)})`,
    );
    const whole = checkStream(Buffer.concat(all.map((g) => g.data)), 0x100, 0x1000);
    t.equal(whole.ccErrors, 0, 'CC continuous on every PID (independent scan)');
    t.equal(whole.discontinuities, 0, 'no discontinuity_indicator');
    t.ok(whole.minPcrStepMs > 0, 'PCR only goes forward');
    t.ok(whole.maxPcrGapMs <= 40, `PCR every ≤ 40 ms: ${whole.maxPcrGapMs.toFixed(1)} ms`);
    const gap = maxGapMs(timed(rec).map((g) => g.ns));
    t.ok(gap < 100, `largest gap between datagrams ${gap.toFixed(1)} ms < 100 ms`);

    // Allow the ~400 ms the output is scheduled ahead (and some) before judging the new settings.
    const settle = 1000e6;
    const before = pcrRate(between(all, all[0].ns, t1));
    const after = pcrRate(between(all, t1 + settle, t2));
    t.ok(Math.abs(before / 1.5e6 - 1) < 0.01, `rate before: ${before.toFixed(0)} bit/s`);
    t.ok(Math.abs(after / 2.5e6 - 1) < 0.01, `rate after the reload: ${after.toFixed(0)} bit/s`);

    // A datagram the burst limit sent in two parts counts once (datagramSizes).
    const sizesBefore = datagramSizes(
      all.filter((g) => g.ns < t2),
      7 * 188,
    );
    const sizesAfter = datagramSizes(
      all.filter((g) => g.ns > t2 + settle),
      4 * 188,
    );
    t.same([...sizesBefore], [7 * 188], '7 packets per datagram before');
    t.same([...sizesAfter], [4 * 188], '4 packets per datagram after');
    const psi = checkStream(between(all, t2 + settle, tEnd), 0x100, 0x1000);
    t.ok(psi.maxPatGapMs <= 50, `PAT every ≤ 50 ms after: ${psi.maxPatGapMs.toFixed(1)} ms`);

    const cbr = between(all, t2 + settle, t3);
    const vbr = between(all, t3 + settle, tEnd);
    t.ok(nulls(cbr) > cbr.length / 188 / 2, 'CBR: mostly null padding');
    // VBR is not padded to a mux rate any more: nulls only fill up to its floor density of 8
    // packets per 35 ms (≈ 344 kbit/s, remuxer.ts walk()) where the content is sparser.
    const nullRate = (nulls(vbr) * 188 * 8) / ((tEnd - t3 - settle) / 1e9);
    t.ok(
      nullRate < 344e3,
      `VBR: nulls only up to the floor (${(nullRate / 1e3).toFixed(0)} kbit/s)`,
    );

    t.equal(
      d.events.filter((e) => e.event === 'source-start' && String(e.source).includes(TEXT)).length,
      1,
      'the source started once',
    );
    await stopAndCheck(t, d, [TEXT]);
  },
);
