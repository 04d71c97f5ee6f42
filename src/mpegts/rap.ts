// Random access points: may a decoder that has seen nothing of this stream start at the PES that
// begins in this packet? Used to start a spliced-in source's video where a picture can be
// decoded whole, instead of showing broken frames until the next keyframe.
//
// Two signals, either one suffices:
// - random_access_indicator in the adaptation field of the PES's first packet (ISO/IEC 13818-1
//   §2.4.3.5: "the next PES packet of the same PID shall contain ... a video sequence header
//   / the first byte of an access point"); ffmpeg and broadcast encoders set it on keyframes.
// - The elementary stream itself, read from the start codes (00 00 01) in the packet's PES
//   payload:
//     H.264 (Rec. ITU-T H.264 §7.4.1.2, nal_unit_type = byte & 0x1F): 5 IDR slice or 7 SPS is an
//       access point; 1 (non-IDR slice) means it is not; 9 AUD, 6 SEI, 8 PPS come before.
//     HEVC (Rec. ITU-T H.265 §7.4.2.2, nal_unit_type = (byte >> 1) & 0x3F): 16–21 IRAP
//       (BLA/IDR/CRA) or 32/33 VPS/SPS is one; 0–9 (non-IRAP slices) is not.
//     MPEG-2 video (ISO/IEC 13818-2 §6.2.2): a sequence_header (B3) or group_of_pictures
//       header (B8) is one; a picture header (00) before either is not.
// Only the first packet of the PES is read (184 bytes at most): encoders put the access unit
// delimiter and parameter sets first, so the answer is there; when it is not, the PES counts as
// no access point (the splice waits for the next one, boundedly).

import {
  TS_PACKET_SIZE,
  payloadUnitStart,
  payloadOffset,
  randomAccessIndicator,
} from './packet.js';

export const RAP_NO = 0;
export const RAP_YES = 1;

/** Codec families whose start codes this module reads. */
export const CODEC_OTHER = 0;
export const CODEC_H264 = 1;
export const CODEC_HEVC = 2;
export const CODEC_MPEG2 = 3;

/** The codec family for a PMT stream_type (ISO/IEC 13818-1 Table 2-34). */
export function codecFamily(streamType: number, codec?: string): number {
  if (streamType === 0x1b || codec === 'h264') return CODEC_H264;
  if (streamType === 0x24 || codec === 'hevc') return CODEC_HEVC;
  if (streamType === 0x01 || streamType === 0x02) return CODEC_MPEG2;
  return CODEC_OTHER;
}

/**
 * Whether the PES starting in the packet at b[o] is a random access point of a video stream of
 * codec family `family`. Allocation-free; false for packets that start no PES.
 */
export function isRandomAccess(b: Uint8Array, o: number, family: number): boolean {
  if (!payloadUnitStart(b, o)) return false;
  if (randomAccessIndicator(b, o)) return true;
  if (family === CODEC_OTHER) return false;
  const po = payloadOffset(b, o);
  if (po < 0) return false;
  const end = o + TS_PACKET_SIZE;
  const p = o + po;
  // PES header: 00 00 01 stream_id length(2) flags(2) header_data_length, then the header.
  if (p + 9 > end || b[p] !== 0 || b[p + 1] !== 0 || b[p + 2] !== 1) return false;
  let i = p + 9 + b[p + 8];
  for (; i + 3 < end; i++) {
    if (b[i] !== 0 || b[i + 1] !== 0 || b[i + 2] !== 1) continue;
    const v = b[i + 3];
    if (family === CODEC_H264) {
      const t = v & 0x1f;
      if (t === 5 || t === 7) return true;
      if (t >= 1 && t <= 4) return false;
    } else if (family === CODEC_HEVC) {
      const t = (v >> 1) & 0x3f;
      if ((t >= 16 && t <= 21) || t === 32 || t === 33) return true;
      if (t <= 9) return false;
    } else {
      if (v === 0xb3 || v === 0xb8) return true;
      if (v === 0x00) return false;
    }
    i += 2;
  }
  return false;
}
