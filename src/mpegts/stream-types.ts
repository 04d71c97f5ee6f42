// What an elementary stream is, from its PMT stream_type and descriptors.
// ISO/IEC 13818-1 Table 2-34 (stream_type), ETSI EN 300 468 Annex D (DVB descriptors on
// stream_type 0x06), ATSC A/52 (0x81 AC-3, 0x87 E-AC-3), SCTE 35 (0x86 with "CUEI").

import type { Descriptor } from './psi/descriptors.js';
import { languagesOf, registrationOf } from './psi/descriptors.js';

export type StreamKind = 'video' | 'audio' | 'subtitle' | 'teletext' | 'scte35' | 'data';

export interface StreamClass {
  kind: StreamKind;
  /** Short codec name as ffprobe spells it where one exists (h264, hevc, aac, ac3...). */
  codec: string;
}

const BY_TYPE: Record<number, StreamClass> = {
  0x01: { kind: 'video', codec: 'mpeg1video' },
  0x02: { kind: 'video', codec: 'mpeg2video' },
  0x03: { kind: 'audio', codec: 'mp2' },
  0x04: { kind: 'audio', codec: 'mp2' },
  0x0f: { kind: 'audio', codec: 'aac' },
  0x10: { kind: 'video', codec: 'mpeg4' },
  0x11: { kind: 'audio', codec: 'aac_latm' },
  0x1b: { kind: 'video', codec: 'h264' },
  0x24: { kind: 'video', codec: 'hevc' },
  0x42: { kind: 'video', codec: 'cavs' },
  0x81: { kind: 'audio', codec: 'ac3' },
  0x87: { kind: 'audio', codec: 'eac3' },
  0x86: { kind: 'scte35', codec: 'scte_35' },
  0xd1: { kind: 'video', codec: 'dirac' },
  0xea: { kind: 'video', codec: 'vc1' },
};

/** DVB descriptor tags that give a private PES (stream_type 0x06) its meaning. */
const BY_DVB_DESCRIPTOR: Record<number, StreamClass> = {
  0x6a: { kind: 'audio', codec: 'ac3' },
  0x7a: { kind: 'audio', codec: 'eac3' },
  0x7b: { kind: 'audio', codec: 'dts' },
  0x7c: { kind: 'audio', codec: 'aac' },
  0x59: { kind: 'subtitle', codec: 'dvb_subtitle' },
  0x56: { kind: 'teletext', codec: 'dvb_teletext' },
  0x46: { kind: 'teletext', codec: 'dvb_teletext' },
};

const BY_REGISTRATION: Record<string, StreamClass> = {
  'AC-3': { kind: 'audio', codec: 'ac3' },
  EAC3: { kind: 'audio', codec: 'eac3' },
  Opus: { kind: 'audio', codec: 'opus' },
  HEVC: { kind: 'video', codec: 'hevc' },
  CUEI: { kind: 'scte35', codec: 'scte_35' },
  KLVA: { kind: 'data', codec: 'klv' },
};

export function classifyStream(
  streamType: number,
  descriptors: readonly Descriptor[],
): StreamClass {
  const known = BY_TYPE[streamType];
  if (known && streamType !== 0x86) return known;
  for (const d of descriptors) {
    const c = BY_DVB_DESCRIPTOR[d.tag];
    if (c) return c;
  }
  const reg = registrationOf(descriptors);
  if (reg && BY_REGISTRATION[reg]) return BY_REGISTRATION[reg];
  if (known) return known;
  return { kind: 'data', codec: 'unknown' };
}

/** True for stream kinds carried in PES packets with PTS (everything but SCTE-35 sections). */
export function isPesKind(kind: StreamKind): boolean {
  return kind !== 'scte35';
}

/** What a PMT entry (§2.4.4.8) carries, by stream_type and descriptors. */
export interface StreamDescription {
  pid: number;
  streamType: number;
  kind: StreamKind;
  codec: string;
  /** ISO 639 language codes (descriptor 0x0A). */
  languages: string[];
}

/** A PMT entry described: its kind, codec and languages. */
export function describeStream(s: {
  pid: number;
  streamType: number;
  descriptors: Descriptor[];
}): StreamDescription {
  const c = classifyStream(s.streamType, s.descriptors);
  return {
    pid: s.pid,
    streamType: s.streamType,
    kind: c.kind,
    codec: c.codec,
    languages: languagesOf(s.descriptors),
  };
}
