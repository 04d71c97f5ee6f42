// Hand-built transport streams for the analyzer tests: a constant-rate single-program mux
// (PAT, PMT, optional SDT/CAT, H.264 video with PCR, AAC audio, null packets) whose PCRs sit
// exactly on the constant-rate line, with hooks to inject one fault at a time.

import { Analyzer, type AnalyzerOptions } from '../../../src/mpegts/analyzer/analyzer.js';
import type { AnalyzerReport, Check } from '../../../src/mpegts/analyzer/report.js';
import {
  AFC_ADAPTATION,
  AFC_BOTH,
  AFC_PAYLOAD,
  PCR_MODULUS,
  TS_PACKET_SIZE,
  writeHeader,
  writeNullPacket,
  writePcrAt,
} from '../../../src/mpegts/packet.js';
import { serializePat } from '../../../src/mpegts/psi/pat.js';
import { serializePmt } from '../../../src/mpegts/psi/pmt.js';
import { languageDescriptor } from '../../../src/mpegts/psi/descriptors.js';
import { buildLongSection, packetizeSections } from '../../../src/mpegts/psi/section.js';

/** 2.0304 Mb/s: 1350 packets/s, exactly 20000 ticks of 27 MHz per packet. */
export const RATE_BPS = 2_030_400;
export const PACKETS_PER_SEC = 1350;
export const TICKS_PER_PACKET = 20_000;
export const PACKET_NS = (TICKS_PER_PACKET * 1000) / 27;
export const PMT_PID = 0x1000;
export const VIDEO_PID = 0x100;
export const AUDIO_PID = 0x101;

export type Item = 'pat' | 'pmt' | 'sdt' | 'cat' | 'pcr' | 'video' | 'audio' | 'extra';

export interface MuxOptions {
  durationSec?: number;
  patMs?: number;
  pmtMs?: number;
  pcrMs?: number;
  /** SDT actual every sdtMs; 0 (default) for none. */
  sdtMs?: number;
  /** CAT every catMs; 0 (default) for none. */
  catMs?: number;
  /** Packets on this PID (not in the PMT) every 100 ms. */
  extraPid?: number;
  /** PCR of the first packet, in 27 MHz ticks. */
  pcrBase?: number;
  /** Leave out one scheduled item (a PAT, a PCR, a video/audio frame) at time tSec. */
  omit?: (item: Item, tSec: number) => boolean;
  /** Ticks added to the n-th PCR (0-based). */
  pcrAdjust?: (n: number, tSec: number) => number;
  /** discontinuity_indicator on the n-th PCR packet. */
  pcrDiscontinuity?: (n: number, tSec: number) => boolean;
}

export interface MuxPacket {
  pid: number;
  item: Item | 'null';
  tNs: number;
}

export interface Mux {
  bytes: Uint8Array;
  meta: MuxPacket[];
}

function ptsBytes(pts: number): number[] {
  const hi = Math.floor(pts / 2 ** 30) & 7;
  const lo = pts % 2 ** 30;
  return [
    0x21 | (hi << 1),
    (lo >>> 22) & 0xff,
    (((lo >>> 15) & 0x7f) << 1) | 1,
    (lo >>> 7) & 0xff,
    ((lo & 0x7f) << 1) | 1,
  ];
}

/** A PES packet with a PTS and `size` payload bytes. */
export function pesPacket(streamId: number, pts: number, size: number): Uint8Array {
  const out = new Uint8Array(14 + size);
  const len = streamId >= 0xe0 && streamId <= 0xef ? 0 : 8 + size;
  out.set([0, 0, 1, streamId, len >> 8, len & 0xff, 0x80, 0x80, 5, ...ptsBytes(pts)]);
  for (let i = 14; i < out.length; i++) out[i] = (i * 7) & 0x7f; // no 0x47 sync look-alikes
  return out;
}

/** A minimal SDT actual section naming one service (EN 300 468 §5.2.3, §6.2.33). */
export function sdtSection(serviceId: number, provider: string, name: string): Uint8Array {
  const enc = (s: string): number[] => [...new TextEncoder().encode(s)];
  const p = [0x15, ...enc(provider)];
  const n = [0x15, ...enc(name)];
  const desc = [0x48, 3 + p.length + n.length, 0x01, p.length, ...p, n.length, ...n];
  const body = [
    0x00,
    0x01, // original_network_id
    0xff,
    serviceId >> 8,
    serviceId & 0xff,
    0xfc,
    0x80 | ((desc.length >> 8) & 0x0f), // running_status 4, free_CA 0
    desc.length & 0xff,
    ...desc,
  ];
  return buildLongSection({
    tableId: 0x42,
    tableIdExtension: 1,
    version: 0,
    sectionNumber: 0,
    lastSectionNumber: 0,
    privateBit: true,
    body: Uint8Array.from(body),
  });
}

/** An empty CAT (ISO/IEC 13818-1 §2.4.4.6). */
export function catSection(): Uint8Array {
  return buildLongSection({
    tableId: 0x01,
    tableIdExtension: 0xffff,
    version: 0,
    sectionNumber: 0,
    lastSectionNumber: 0,
    body: new Uint8Array(0),
  });
}

interface Queue {
  data: Uint8Array;
  off: number;
}

/** Builds a constant-rate stream; see MuxOptions for the fault hooks. */
export function buildMux(o: MuxOptions = {}): Mux {
  const duration = o.durationSec ?? 10;
  const patNs = (o.patMs ?? 100) * 1e6;
  const pmtNs = (o.pmtMs ?? 100) * 1e6;
  const pcrNs = (o.pcrMs ?? 30) * 1e6;
  const sdtNs = (o.sdtMs ?? 0) * 1e6;
  const catNs = (o.catMs ?? 0) * 1e6;
  const omit = o.omit ?? (() => false);
  const pcrBase = o.pcrBase ?? 0;
  const pat = packetizeSections(
    serializePat({
      transportStreamId: 1,
      version: 0,
      programs: [{ programNumber: 1, pid: PMT_PID }],
    }),
    0,
  );
  const pmt = packetizeSections(
    [
      serializePmt({
        programNumber: 1,
        version: 0,
        pcrPid: VIDEO_PID,
        programInfo: [],
        streams: [
          { streamType: 0x1b, pid: VIDEO_PID, descriptors: [] },
          { streamType: 0x0f, pid: AUDIO_PID, descriptors: [languageDescriptor('eng')] },
        ],
      }),
    ],
    PMT_PID,
  );
  const sdt = packetizeSections([sdtSection(1, 'Provider', 'Chaîne Un')], 0x11);
  const cat = packetizeSections([catSection()], 0x01);
  const total = Math.round(duration * PACKETS_PER_SEC);
  const bytes = new Uint8Array(total * TS_PACKET_SIZE);
  const meta: MuxPacket[] = [];
  const cc = new Map<number, number>();
  const nextCc = (pid: number, advance = true): number => {
    const v = cc.get(pid) ?? 0;
    if (advance) cc.set(pid, (v + 1) & 0x0f);
    return v;
  };
  const video: Queue[] = [];
  const audio: Queue[] = [];
  let nextPat = 0;
  let nextPmt = 0;
  let nextSdt = 0;
  let nextCat = 0;
  let nextPcr = 0;
  let nextVideo = 0;
  let nextAudio = 0;
  let nextExtra = 0;
  let pcrN = 0;
  for (let i = 0; i < total; i++) {
    const t = i * PACKET_NS;
    const sec = t / 1e9;
    const o0 = i * TS_PACKET_SIZE;
    while (nextVideo <= t) {
      const pts = Math.round((nextVideo / 1e9 + 0.2) * 90000) + 900000;
      if (!omit('video', nextVideo / 1e9)) video.push({ data: pesPacket(0xe0, pts, 2500), off: 0 });
      nextVideo += 40e6;
    }
    while (nextAudio <= t) {
      const pts = Math.round((nextAudio / 1e9 + 0.2) * 90000) + 900000;
      if (!omit('audio', nextAudio / 1e9)) audio.push({ data: pesPacket(0xc0, pts, 300), off: 0 });
      nextAudio += 24e6;
    }
    let item: MuxPacket['item'] = 'null';
    let pid = 0x1fff;
    const copyTable = (src: Uint8Array, p: number): void => {
      bytes.set(src.subarray(0, TS_PACKET_SIZE), o0);
      bytes[o0 + 3] = (bytes[o0 + 3] & 0xf0) | nextCc(p);
      pid = p;
    };
    if (nextPat <= t) {
      nextPat += patNs;
      if (!omit('pat', sec)) {
        copyTable(pat, 0);
        item = 'pat';
      }
    }
    if (item === 'null' && nextPmt <= t) {
      nextPmt += pmtNs;
      if (!omit('pmt', sec)) {
        copyTable(pmt, PMT_PID);
        item = 'pmt';
      }
    }
    if (item === 'null' && sdtNs > 0 && nextSdt <= t) {
      nextSdt += sdtNs;
      if (!omit('sdt', sec)) {
        copyTable(sdt, 0x11);
        item = 'sdt';
      }
    }
    if (item === 'null' && catNs > 0 && nextCat <= t) {
      nextCat += catNs;
      if (!omit('cat', sec)) {
        copyTable(cat, 0x01);
        item = 'cat';
      }
    }
    if (item === 'null' && nextPcr <= t) {
      nextPcr += pcrNs;
      const n = pcrN++;
      if (!omit('pcr', sec)) {
        const pcr = pcrBase + i * TICKS_PER_PACKET + (o.pcrAdjust?.(n, sec) ?? 0);
        const di = o.pcrDiscontinuity?.(n, sec) ?? false;
        writePes(bytes, o0, VIDEO_PID, video, nextCc, pcr % PCR_MODULUS, di);
        pid = VIDEO_PID;
        item = 'pcr';
      }
    }
    if (item === 'null' && audio.length) {
      writePes(bytes, o0, AUDIO_PID, audio, nextCc, -1, false);
      pid = AUDIO_PID;
      item = 'audio';
    } else if (item === 'null' && video.length) {
      writePes(bytes, o0, VIDEO_PID, video, nextCc, -1, false);
      pid = VIDEO_PID;
      item = 'video';
    } else if (item === 'null' && o.extraPid !== undefined && nextExtra <= t) {
      nextExtra += 100e6;
      writeHeader(bytes, o0, o.extraPid, false, AFC_PAYLOAD, nextCc(o.extraPid));
      bytes.fill(0xaa, o0 + 4, o0 + TS_PACKET_SIZE);
      pid = o.extraPid;
      item = 'extra';
    } else if (item === 'null') {
      writeNullPacket(bytes, o0);
    }
    meta.push({ pid, item, tNs: t });
  }
  return { bytes, meta };
}

/**
 * One packet of a queued PES on `pid`, with a PCR when pcr ≥ 0. With nothing queued and a
 * PCR to send, an adaptation-only packet (CC not advanced: §2.4.3.3).
 */
function writePes(
  b: Uint8Array,
  o: number,
  pid: number,
  q: Queue[],
  nextCc: (pid: number, advance?: boolean) => number,
  pcr: number,
  di: boolean,
): void {
  const head = q[0];
  if (!head) {
    // adaptation field only: CC repeats the last value
    writeHeader(b, o, pid, false, AFC_ADAPTATION, (nextCc(pid, false) + 15) & 0x0f);
    b[o + 4] = 183;
    b[o + 5] = (di ? 0x80 : 0) | 0x10;
    writePcrAt(b, o + 6, pcr);
    b.fill(0xff, o + 12, o + TS_PACKET_SIZE);
    return;
  }
  const pusi = head.off === 0;
  const remaining = head.data.length - head.off;
  const afMin = pcr >= 0 ? 8 : 0; // length byte + flags + PCR
  const room = 184 - afMin;
  const n = Math.min(remaining, room);
  const af = 184 - n; // bytes of adaptation field including its length byte
  writeHeader(b, o, pid, pusi, af > 0 ? AFC_BOTH : AFC_PAYLOAD, nextCc(pid));
  let p = o + 4;
  if (af > 0) {
    b[p] = af - 1;
    if (af > 1) {
      b[p + 1] = (di ? 0x80 : 0) | (pcr >= 0 ? 0x10 : 0);
      let s = p + 2;
      if (pcr >= 0) {
        writePcrAt(b, s, pcr);
        s += 6;
      }
      b.fill(0xff, s, p + af);
    }
    p += af;
  }
  b.set(head.data.subarray(head.off, head.off + n), p);
  head.off += n;
  if (head.off === head.data.length) q.shift();
}

/** Packet indexes whose meta matches. */
export function indexesOf(m: Mux, pred: (p: MuxPacket, i: number) => boolean): number[] {
  const out: number[] = [];
  m.meta.forEach((p, i) => {
    if (pred(p, i)) out.push(i);
  });
  return out;
}

export function packetAt(m: Mux, i: number): Uint8Array {
  return m.bytes.subarray(i * TS_PACKET_SIZE, (i + 1) * TS_PACKET_SIZE);
}

/** A copy of the stream without the given packets. */
export function withoutPackets(m: Mux, drop: number[]): Uint8Array {
  const set = new Set(drop);
  const out = new Uint8Array((m.meta.length - set.size) * TS_PACKET_SIZE);
  let o = 0;
  for (let i = 0; i < m.meta.length; i++) {
    if (set.has(i)) continue;
    out.set(packetAt(m, i), o);
    o += TS_PACKET_SIZE;
  }
  return out;
}

/** A copy with packet i repeated `extra` more times right after itself. */
export function withRepeats(m: Mux, i: number, extra: number): Uint8Array {
  const at = (i + 1) * TS_PACKET_SIZE;
  const out = new Uint8Array(m.bytes.length + extra * TS_PACKET_SIZE);
  out.set(m.bytes.subarray(0, at), 0);
  for (let k = 0; k < extra; k++) out.set(packetAt(m, i), at + k * TS_PACKET_SIZE);
  out.set(m.bytes.subarray(at), at + extra * TS_PACKET_SIZE);
  return out;
}

export function insertBytes(b: Uint8Array, at: number, ins: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length + ins.length);
  out.set(b.subarray(0, at), 0);
  out.set(ins, at);
  out.set(b.subarray(at), at + ins.length);
  return out;
}

/** Analyzes a buffer in one push, or in chunks of the given sizes (cycled). */
export function analyze(b: Uint8Array, opts?: AnalyzerOptions, chunks?: number[]): AnalyzerReport {
  const a = new Analyzer(opts);
  if (!chunks) a.push(b);
  else {
    let k = 0;
    for (let o = 0; o < b.length;) {
      const n = chunks[k++ % chunks.length];
      a.push(b.subarray(o, o + n));
      o += n;
    }
  }
  a.end();
  return a.report();
}

export function check(r: AnalyzerReport, id: string): Check {
  const all = [...r.tr101290.priority1, ...r.tr101290.priority2, ...r.tr101290.priority3];
  const c = all.find((x) => x.id === id);
  if (!c) throw new Error('no check ' + id);
  return c;
}

/** id → errors for every check with errors (for "only this fired" assertions). */
export function failing(r: AnalyzerReport): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of [...r.tr101290.priority1, ...r.tr101290.priority2, ...r.tr101290.priority3])
    if (c.errors > 0) out[c.id] = c.errors;
  return out;
}

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
