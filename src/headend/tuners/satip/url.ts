// The SAT>IP query (SAT>IP Protocol Specification 1.2.2 §3.5.11 "Query syntax" and §3.5.12
// "Query attributes") built from a TuningSpec: what SETUP and PLAY carry after `?`.
//
//   satellite    src=1&freq=11494&pol=h&msys=dvbs2&sr=22000&mtype=8psk[&fec=23&ro=0.35&plts=on]
//   terrestrial  freq=506&bw=8&msys=dvbt2[&mtype=64qam]&plp=0
//   cable        freq=346&msys=dvbc&sr=6900&mtype=256qam
//   then         &pids=0,16,17,…   (or pids=all, pids=none)
//
// Attribute values (§3.5.12):
//   src    1-255, the server's satellite input (satellite only)
//   freq   MHz, decimals allowed (11361.75; terrestrial/cable centre frequency likewise)
//   pol    h, v, l, r
//   msys   dvbs, dvbs2, dvbt, dvbt2, dvbc (dvbc2 exists; `atsc` is a tvheadend/minisatip extension)
//   sr     symbol rate in ksymb/s (22000, 27500, 6900)
//   mtype  satellite qpsk, 8psk (16apsk, 32apsk: common extension); terrestrial qpsk, 16qam,
//          64qam, 256qam; cable 16qam, 32qam, 64qam, 128qam, 256qam
//   fec    12, 23, 34, 56, 78, 89, 35, 45, 910
//   ro     roll-off 0.35, 0.25, 0.20
//   plts   pilots on, off
//   bw     MHz: 5, 6, 7, 8, 10, 1.712
//   plp    DVB-T2 PLP id 0-255 (DVB-S2 multistream uses `isi=`, a minisatip/tvheadend extension)
//   pids   comma-separated PIDs, `all` (the whole multiplex) or `none`
//   addpids / delpids   PIDs to add to / remove from the running stream's set (PLAY only; not
//          mixed with pids= in one request)
// Optional attributes left out let the server choose (auto).

import { isSatellite, type Modulation, type TuningSpec } from '../types.js';

/** A PID set for the server: a sorted list, or every PID of the multiplex. */
export type SatipPids = readonly number[] | 'all';

/** Our modulation names → SAT>IP `mtype` values; `auto` is left out. */
const MTYPE: Record<Modulation, string | undefined> = {
  auto: undefined,
  qpsk: 'qpsk',
  '8psk': '8psk',
  '16apsk': '16apsk',
  '32apsk': '32apsk',
  qam16: '16qam',
  qam32: '32qam',
  qam64: '64qam',
  qam128: '128qam',
  qam256: '256qam',
  '8vsb': '8vsb',
  '16vsb': '16vsb',
};

/** A value in MHz (or ksymb/s) from Hz (symbols/s): kHz precision, no trailing zeros. */
export function mega(hz: number): string {
  return String(Math.round(hz / 1e3) / 1e3);
}

/** A value in ksymb/s from symbols/s (symbol-level precision). */
export function kilo(v: number): string {
  return String(Math.round(v) / 1e3);
}

/** `pids=` value: the list, `all`, or `none` for an empty list. */
export function pidsValue(pids: SatipPids): string {
  if (pids === 'all') return 'all';
  return pids.length === 0 ? 'none' : pids.join(',');
}

/** The tuning attributes, without pids (shared by SETUP and PLAY). */
export function tuningQuery(tuning: TuningSpec, src: number): string {
  const q: [string, string][] = [];
  const mtype = tuning.modulation === undefined ? undefined : MTYPE[tuning.modulation];
  if (isSatellite(tuning.delivery)) {
    q.push(['src', String(src)], ['freq', mega(tuning.frequencyHz)]);
    if (tuning.polarization !== undefined) q.push(['pol', tuning.polarization]);
    q.push(['msys', tuning.delivery]);
    if (tuning.symbolRate !== undefined) q.push(['sr', kilo(tuning.symbolRate)]);
    if (mtype !== undefined) q.push(['mtype', mtype]);
    // SAT>IP 1.2 §3.5.11: fec=34 (the rate without its slash), ro=0.35, plts=on|off.
    if (tuning.fec !== undefined) q.push(['fec', tuning.fec.replace('/', '')]);
    if (tuning.delivery === 'dvbs2') {
      if (tuning.rolloff !== undefined) q.push(['ro', tuning.rolloff]);
      if (tuning.pilots !== undefined) q.push(['plts', tuning.pilots ? 'on' : 'off']);
    }
    if (tuning.plp !== undefined && tuning.delivery === 'dvbs2')
      q.push(['isi', String(tuning.plp)]);
  } else if (tuning.delivery === 'dvbt' || tuning.delivery === 'dvbt2') {
    q.push(['freq', mega(tuning.frequencyHz)]);
    if (tuning.bandwidthHz !== undefined) q.push(['bw', mega(tuning.bandwidthHz)]);
    q.push(['msys', tuning.delivery]);
    if (mtype !== undefined) q.push(['mtype', mtype]);
    if (tuning.plp !== undefined && tuning.delivery === 'dvbt2')
      q.push(['plp', String(tuning.plp)]);
  } else {
    // dvbc, atsc
    q.push(['freq', mega(tuning.frequencyHz)], ['msys', tuning.delivery]);
    if (tuning.symbolRate !== undefined) q.push(['sr', kilo(tuning.symbolRate)]);
    if (mtype !== undefined) q.push(['mtype', mtype]);
  }
  return q.map(([k, v]) => `${k}=${v}`).join('&');
}

/** The whole query of a SETUP: tuning then `pids=`. */
export function setupQuery(tuning: TuningSpec, src: number, pids: SatipPids): string {
  return `${tuningQuery(tuning, src)}&pids=${pidsValue(pids)}`;
}

/**
 * The query of a PLAY that moves the server from `sent` to `next`: `delpids=…&addpids=…`
 * between two lists, `pids=…` when either side is `all`; undefined when nothing changes.
 */
export function pidChangeQuery(sent: SatipPids, next: SatipPids): string | undefined {
  if (sent === 'all' || next === 'all') {
    return sent === next ? undefined : `pids=${pidsValue(next)}`;
  }
  const had = new Set(sent);
  const want = new Set(next);
  const add = next.filter((p) => !had.has(p));
  const del = sent.filter((p) => !want.has(p));
  if (add.length === 0 && del.length === 0) return undefined;
  // A list emptied entirely is said as pids=none (delpids of everything is the same set, but
  // some servers treat an empty set after delpids as "all").
  if (next.length === 0) return 'pids=none';
  const parts: string[] = [];
  if (del.length > 0) parts.push(`delpids=${del.join(',')}`);
  if (add.length > 0) parts.push(`addpids=${add.join(',')}`);
  return parts.join('&');
}

/** How a tuning reads in a message: `11494 MHz H`, `506 MHz`. */
export function describeTuning(tuning: TuningSpec): string {
  const pol = tuning.polarization === undefined ? '' : ` ${tuning.polarization.toUpperCase()}`;
  return `${mega(tuning.frequencyHz)} MHz${isSatellite(tuning.delivery) ? pol : ''}`;
}
