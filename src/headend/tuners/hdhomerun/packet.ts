// HDHomeRun discovery packets: frame, TLV payload, CRC trailer, device-id checksum. Pure (no
// sockets). Follows SiliconDust's libhdhomerun (hdhomerun_pkt.h/.c, hdhomerun_discover.c),
// the only specification of the protocol:
//
//   frame (UDP port 65001; big-endian except the CRC)
//     uint16  packet type      0x0002 discover request, 0x0003 discover reply
//     uint16  payload length   bytes of TLV data
//     uint8[] payload          tag-length-value items
//     uint32  CRC              Ethernet CRC-32 over type..payload, LITTLE-endian
//
//   TLV item
//     uint8   tag
//     varlen  length           1 byte when ≤ 127 (MSB clear); else 2 bytes:
//                              (len & 0x7F) | 0x80, then len >> 7
//     uint8[] value
//
//   tags: 0x01 device type (u32: 0x00000001 tuner, 0xFFFFFFFF wildcard) · 0x02 device id (u32,
//   0xFFFFFFFF wildcard) · 0x10 tuner count (u8) · 0x27 lineup URL · 0x2A base URL (strings,
//   no NUL) · others are skipped (the protocol says so: new tags may appear).
//
// A request carries device type and device id; the reply carries the same two plus what the
// device knows about itself. Unknown tags and other packet types are ignored, never errors.

export const DISCOVER_PORT = 65001;
export const TYPE_DISCOVER_REQ = 0x0002;
export const TYPE_DISCOVER_RPY = 0x0003;
export const TAG_DEVICE_TYPE = 0x01;
export const TAG_DEVICE_ID = 0x02;
export const TAG_TUNER_COUNT = 0x10;
export const TAG_LINEUP_URL = 0x27;
export const TAG_BASE_URL = 0x2a;
export const DEVICE_TYPE_TUNER = 0x00000001;
export const WILDCARD = 0xffffffff;

export interface Tlv {
  tag: number;
  value: Uint8Array;
}

/** What a discover reply says (fields only when present). */
export interface DiscoverReply {
  deviceType?: number;
  /** 8 upper-case hex digits. */
  deviceId?: string;
  tunerCount?: number;
  baseUrl?: string;
  lineupUrl?: string;
}

// ------------------------------------------------------------------ CRC

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 as Ethernet / zlib compute it (reflected 0x04C11DB7, init and final xor 0xFFFFFFFF).
 * check("123456789") = 0xCBF43926. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ------------------------------------------------------------------ frames

/** A frame of `type` around `payload`, CRC appended little-endian. */
export function encodeFrame(type: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length + 4);
  const v = new DataView(out.buffer);
  v.setUint16(0, type);
  v.setUint16(2, payload.length);
  out.set(payload, 4);
  v.setUint32(4 + payload.length, crc32(out.subarray(0, 4 + payload.length)), true);
  return out;
}

/** The frame's type and payload, or a reason it is not a valid frame. */
export function decodeFrame(
  bytes: Uint8Array,
): { type: number; payload: Uint8Array } | { error: string } {
  if (bytes.length < 8) return { error: `${bytes.length} bytes: shorter than a frame` };
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const type = v.getUint16(0);
  const length = v.getUint16(2);
  if (4 + length + 4 > bytes.length) {
    return { error: `payload length ${length} runs past the ${bytes.length}-byte datagram` };
  }
  const crc = v.getUint32(4 + length, true);
  const calc = crc32(bytes.subarray(0, 4 + length));
  if (crc !== calc) {
    return { error: `CRC ${hex8(crc)} where ${hex8(calc)} was computed` };
  }
  return { type, payload: bytes.subarray(4, 4 + length) };
}

/** TLV items in order; a truncated last item ends the list (libhdhomerun does the same). */
export function decodeTlvs(payload: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  let p = 0;
  while (p + 2 <= payload.length) {
    const tag = payload[p++];
    let len = payload[p++];
    if (len & 0x80) {
      if (p >= payload.length) break;
      len = (len & 0x7f) | (payload[p++] << 7);
    }
    if (p + len > payload.length) break;
    out.push({ tag, value: payload.subarray(p, p + len) });
    p += len;
  }
  return out;
}

export function encodeTlvs(items: readonly Tlv[]): Uint8Array {
  const parts: number[] = [];
  for (const { tag, value } of items) {
    if (value.length > 0x3fff) throw new RangeError(`TLV ${tag}: ${value.length} bytes`);
    parts.push(tag);
    if (value.length <= 127) parts.push(value.length);
    else parts.push((value.length & 0x7f) | 0x80, value.length >> 7);
    for (const b of value) parts.push(b);
  }
  return Uint8Array.from(parts);
}

// ------------------------------------------------------------------ discover request / reply

/** The request: device type tuner, device id `id` (WILDCARD: every device). */
export function encodeDiscoverRequest(id: number = WILDCARD): Uint8Array {
  return encodeFrame(
    TYPE_DISCOVER_REQ,
    encodeTlvs([
      { tag: TAG_DEVICE_TYPE, value: u32(DEVICE_TYPE_TUNER) },
      { tag: TAG_DEVICE_ID, value: u32(id) },
    ]),
  );
}

/** A request's device type and device id (for a responder), or undefined when not a request. */
export function decodeDiscoverRequest(
  bytes: Uint8Array,
): { deviceType: number; deviceId: number } | undefined {
  const f = decodeFrame(bytes);
  if ('error' in f || f.type !== TYPE_DISCOVER_REQ) return undefined;
  let deviceType = WILDCARD;
  let deviceId = WILDCARD;
  for (const { tag, value } of decodeTlvs(f.payload)) {
    if (tag === TAG_DEVICE_TYPE && value.length === 4) deviceType = readU32(value);
    if (tag === TAG_DEVICE_ID && value.length === 4) deviceId = readU32(value);
  }
  return { deviceType, deviceId };
}

/** A reply as a device sends it. */
export function encodeDiscoverReply(r: {
  deviceId: string;
  tunerCount: number;
  baseUrl?: string;
  lineupUrl?: string;
}): Uint8Array {
  const items: Tlv[] = [
    { tag: TAG_DEVICE_TYPE, value: u32(DEVICE_TYPE_TUNER) },
    { tag: TAG_DEVICE_ID, value: u32(parseInt(r.deviceId, 16)) },
    { tag: TAG_TUNER_COUNT, value: Uint8Array.of(r.tunerCount) },
  ];
  const utf8 = new TextEncoder();
  if (r.baseUrl !== undefined) items.push({ tag: TAG_BASE_URL, value: utf8.encode(r.baseUrl) });
  if (r.lineupUrl !== undefined) {
    items.push({ tag: TAG_LINEUP_URL, value: utf8.encode(r.lineupUrl) });
  }
  return encodeFrame(TYPE_DISCOVER_RPY, encodeTlvs(items));
}

/** A reply's fields, or a reason it is not one (bad CRC, another packet type). */
export function decodeDiscoverReply(bytes: Uint8Array): DiscoverReply | { error: string } {
  const f = decodeFrame(bytes);
  if ('error' in f) return f;
  if (f.type !== TYPE_DISCOVER_RPY) return { error: `packet type 0x${f.type.toString(16)}` };
  const r: DiscoverReply = {};
  const text = new TextDecoder();
  for (const { tag, value } of decodeTlvs(f.payload)) {
    switch (tag) {
      case TAG_DEVICE_TYPE:
        if (value.length === 4) r.deviceType = readU32(value);
        break;
      case TAG_DEVICE_ID:
        if (value.length === 4) r.deviceId = hex8(readU32(value));
        break;
      case TAG_TUNER_COUNT:
        if (value.length === 1) r.tunerCount = value[0];
        break;
      case TAG_BASE_URL:
        r.baseUrl = text.decode(value).replace(/\0+$/, '');
        break;
      case TAG_LINEUP_URL:
        r.lineupUrl = text.decode(value).replace(/\0+$/, '');
        break;
      default:
        break; // unknown tags are skipped
    }
  }
  return r;
}

// ------------------------------------------------------------------ device ids

/** True for a device id's text form: exactly 8 hex digits. */
export function isDeviceIdText(s: string): boolean {
  return /^[0-9a-f]{8}$/i.test(s);
}

/**
 * The check digit of a device id (hdhomerun_discover_validate_device_id): the nibbles at odd
 * positions from the left go through a table, the others as they are, all xored: 0 when valid.
 * Ids that fail are not a device's (a typo); libhdhomerun refuses them too.
 */
export function validDeviceId(id: number): boolean {
  const T = [0xa, 0x5, 0xf, 0x6, 0x7, 0xc, 0x1, 0xb, 0x9, 0x2, 0x8, 0xd, 0x4, 0x3, 0xe, 0x0];
  let c = 0;
  for (let shift = 28; shift >= 0; shift -= 8) {
    c ^= T[(id >>> shift) & 0xf] ^ ((id >>> (shift - 4)) & 0xf);
  }
  return c === 0 && id !== 0 && id !== WILDCARD;
}

export function hex8(n: number): string {
  return (n >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0);
  return b;
}

function readU32(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
}
