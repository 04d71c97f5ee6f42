// Synthetic transport streams for tests: programs with video/audio PES at chosen rates, PCR at a
// chosen cadence and start value (to hit wraps), PAT/PMT/SDT repeated, CBR-paced with nulls.
// Built only from the writers under test's neighbours (packet.ts, section.ts, pat/pmt/sdt).

import {
  AFC_ADAPTATION,
  AFC_BOTH,
  AFC_PAYLOAD,
  PCR_MODULUS,
  TS_PACKET_SIZE,
  writeHeader,
  writeNullPacket,
  writePcrAt,
} from '../../src/mpegts/packet.js';
import { packetizeSections } from '../../src/mpegts/psi/section.js';
import { serializePat } from '../../src/mpegts/psi/pat.js';
import { serializePmt } from '../../src/mpegts/psi/pmt.js';
import { serializeSdt } from '../../src/mpegts/psi/sdt.js';
import { encodeTimestamp } from '../../src/mpegts/pes.js';
import type { Descriptor } from '../../src/mpegts/psi/descriptors.js';

export interface SynthStream {
  pid: number;
  streamType: number;
  /** Frames (PES packets) per second. */
  fps: number;
  /** Bytes of ES payload per frame. */
  frameBytes: number;
  /**
   * Video: every gop-th frame (from frame 0) is a random access point; the payload of each
   * frame opens with the codec's start code (H.264 IDR 0x65 or slice 0x41, HEVC IDR 0x26 or
   * TRAIL_R 0x02, MPEG-2 sequence header 0xB3 or picture 0x00). Default 12.
   */
  gop?: number;
  /** Added to this stream's PTS (ms): a stream muxed closer to (or further from) its deadline. */
  ptsOffsetMs?: number;
  /** The stream's first frame comes this long after the start (ms). Default 0. */
  startMs?: number;
  descriptors?: Descriptor[];
}

export interface SynthProgram {
  programNumber: number;
  pmtPid: number;
  pcrPid: number;
  streams: SynthStream[];
  serviceName?: string;
}

export interface SynthOptions {
  programs: SynthProgram[];
  durationMs: number;
  /** Mux rate in bit/s (packet i leaves at i·1504/rate). */
  muxRate: number;
  pcrIntervalMs?: number;
  psiIntervalMs?: number;
  /** PCR (27 MHz) of the first packet. */
  startPcr?: number;
  /** PTS lead over PCR in ms. */
  ptsDelayMs?: number;
  tsid?: number;
  /** Initial CC per PID (to make two sources differ). */
  ccStart?: number;
  withSdt?: boolean;
}

interface EsState {
  s: SynthStream;
  queue: Uint8Array[];
  cc: number;
  nextFrame: number;
  frame: number;
}

/** Builds the stream; returns the bytes and the PCR value of the packet after the last. */
export function synthesize(o: SynthOptions): { ts: Uint8Array; endPcr: number } {
  const rate = o.muxRate;
  const pktTicks = (TS_PACKET_SIZE * 8 * 27e6) / rate;
  const total = Math.floor((o.durationMs * 27e3) / pktTicks);
  const out = new Uint8Array(total * TS_PACKET_SIZE);
  const start = o.startPcr ?? 0;
  const pcrTicks = (o.pcrIntervalMs ?? 30) * 27e3;
  const psiTicks = (o.psiIntervalMs ?? 100) * 27e3;
  const delay = (o.ptsDelayMs ?? 500) * 90;
  const tsid = o.tsid ?? 1;
  const psi: Uint8Array[] = [];
  psi.push(
    packetizeSections(
      serializePat({
        transportStreamId: tsid,
        version: 0,
        programs: o.programs.map((p) => ({ programNumber: p.programNumber, pid: p.pmtPid })),
      }),
      0,
    ),
  );
  for (const p of o.programs) {
    psi.push(
      packetizeSections(
        [
          serializePmt({
            programNumber: p.programNumber,
            version: 0,
            pcrPid: p.pcrPid,
            programInfo: [],
            streams: p.streams.map((s) => ({
              streamType: s.streamType,
              pid: s.pid,
              descriptors: s.descriptors ?? [],
            })),
          }),
        ],
        p.pmtPid,
      ),
    );
  }
  if (o.withSdt) {
    psi.push(
      packetizeSections(
        serializeSdt({
          transportStreamId: tsid,
          originalNetworkId: 1,
          version: 0,
          services: o.programs.map((p) => ({
            serviceId: p.programNumber,
            eitSchedule: false,
            eitPresentFollowing: false,
            runningStatus: 4,
            freeCaMode: false,
            serviceType: 1,
            providerName: 'synth',
            serviceName: p.serviceName ?? `P${p.programNumber}`,
            otherDescriptors: [],
          })),
        }),
        0x11,
      ),
    );
  }
  const psiCc = new Map<number, number>();
  const es: EsState[] = [];
  for (const p of o.programs)
    for (const s of p.streams)
      es.push({ s, queue: [], cc: o.ccStart ?? 0, nextFrame: (s.startMs ?? 0) * 27e3, frame: 0 });
  const pcrPids = new Set(o.programs.map((p) => p.pcrPid));
  const nextPcr = new Map<number, number>();
  for (const pid of pcrPids) nextPcr.set(pid, 0);
  let nextPsi = 0;
  const pending: Uint8Array[] = [];
  let rr = 0;
  for (let i = 0; i < total; i++) {
    const t = i * pktTicks; // since start
    const at = i * TS_PACKET_SIZE;
    const pcrNow = (start + Math.round(t)) % PCR_MODULUS;
    if (t >= nextPsi) {
      for (const table of psi)
        for (let k = 0; k < table.length; k += TS_PACKET_SIZE)
          pending.push(table.subarray(k, k + TS_PACKET_SIZE));
      nextPsi += psiTicks;
    }
    for (const e of es) {
      while (t >= e.nextFrame) {
        const pts =
          Math.round((start + e.nextFrame) / 300) + delay + Math.round((e.s.ptsOffsetMs ?? 0) * 90);
        e.queue.push(...pesPackets(e.s, pts, e.frame++));
        e.nextFrame += 27e6 / e.s.fps;
      }
    }
    if (pending.length > 0) {
      const p = pending.shift()!;
      out.set(p, at);
      const pid = ((p[1] & 0x1f) << 8) | p[2];
      const cc = ((psiCc.get(pid) ?? 15) + 1) & 15;
      psiCc.set(pid, cc);
      out[at + 3] = (out[at + 3] & 0xf0) | cc;
      continue;
    }
    // PCR due on a PID?
    let pcrPid = -1;
    for (const [pid, due] of nextPcr) if (t >= due) pcrPid = pid;
    if (pcrPid >= 0) {
      nextPcr.set(pcrPid, nextPcr.get(pcrPid)! + pcrTicks);
      const e = es.find((x) => x.s.pid === pcrPid);
      const chunk = e?.queue[0];
      if (e && chunk && chunk.length <= 176) {
        e.queue.shift();
        writeEsPacket(out, at, e, chunk, pcrNow);
      } else {
        const cc = e ? (e.cc + 15) & 15 : 0;
        writeHeader(out, at, pcrPid, false, AFC_ADAPTATION, cc);
        out[at + 4] = 183;
        out[at + 5] = 0x10;
        writePcrAt(out, at + 6, pcrNow);
        out.fill(0xff, at + 12, at + TS_PACKET_SIZE);
      }
      continue;
    }
    let sent = false;
    for (let k = 0; k < es.length && !sent; k++) {
      const e = es[(rr + k) % es.length];
      if (e.queue.length > 0) {
        writeEsPacket(out, at, e, e.queue.shift()!, -1);
        rr = (rr + k + 1) % es.length;
        sent = true;
      }
    }
    if (!sent) writeNullPacket(out, at);
  }
  return { ts: out, endPcr: (start + Math.round(total * pktTicks)) % PCR_MODULUS };
}

/** PES packet of one frame split in TS payload chunks; chunk[0] carries the PES header. */
function pesPackets(s: SynthStream, pts: number, frame: number): Uint8Array[] {
  const video = s.streamType === 0x1b || s.streamType === 0x02 || s.streamType === 0x24;
  const hdr = new Uint8Array(14);
  hdr.set([0, 0, 1, video ? 0xe0 : 0xc0, 0, 0, 0x84, 0x80, 5]);
  encodeTimestamp(hdr, 9, 0b0010, pts);
  const body = new Uint8Array(s.frameBytes).fill(frame & 0xff);
  const len = hdr.length + body.length - 6;
  if (!video || len < 65536) {
    hdr[4] = (len >> 8) & 0xff;
    hdr[5] = len & 0xff;
  }
  if (video && body.length >= 6) {
    const key = frame % (s.gop ?? 12) === 0;
    const code =
      s.streamType === 0x1b
        ? key
          ? 0x65
          : 0x41
        : s.streamType === 0x24
          ? key
            ? 0x26
            : 0x02
          : key
            ? 0xb3
            : 0x00;
    body.set([0, 0, 0, 1, code, 0x80]);
  }
  const pes = new Uint8Array(hdr.length + body.length);
  pes.set(hdr);
  pes.set(body, hdr.length);
  const chunks: Uint8Array[] = [];
  for (let p = 0; p < pes.length; p += 184)
    chunks.push(pes.subarray(p, Math.min(p + 184, pes.length)));
  (chunks[0] as Uint8Array & { pusi?: boolean }).pusi = true;
  return chunks;
}

function writeEsPacket(
  out: Uint8Array,
  at: number,
  e: EsState,
  chunk: Uint8Array,
  pcr: number,
): void {
  const pusi = (chunk as Uint8Array & { pusi?: boolean }).pusi === true;
  e.cc = (e.cc + 1) & 15;
  const need = pcr >= 0 ? 8 : 0;
  const afTotal = Math.max(need, 184 - chunk.length);
  if (afTotal === 0) {
    writeHeader(out, at, e.s.pid, pusi, AFC_PAYLOAD, e.cc);
    out.set(chunk, at + 4);
    return;
  }
  writeHeader(out, at, e.s.pid, pusi, AFC_BOTH, e.cc);
  out[at + 4] = afTotal - 1;
  let p = at + 5;
  if (afTotal >= 2) {
    out[p++] = pcr >= 0 ? 0x10 : 0x00;
    if (pcr >= 0) {
      writePcrAt(out, p, pcr);
      p += 6;
    }
  }
  out.fill(0xff, p, at + 4 + afTotal);
  out.set(chunk, at + 4 + afTotal);
}

/** The usual SPTS: H.264 video on 0x100 (PCR), AAC audio on 0x101. */
export function simpleProgram(programNumber = 1, base = 0x100, pmtPid = 0x1000): SynthProgram {
  return {
    programNumber,
    pmtPid,
    pcrPid: base,
    streams: [
      { pid: base, streamType: 0x1b, fps: 25, frameBytes: 4000 },
      { pid: base + 1, streamType: 0x0f, fps: 43, frameBytes: 300 },
    ],
  };
}
