// Just enough of the SDT to name programs: ETSI EN 300 468 §5.2.3 (SDT) and §6.2.33
// (service_descriptor), Annex A (text). The full SDT module lives elsewhere; the analyzer
// keeps this small reader so it depends on nothing but bytes.
//
// SDT body (after the 8-byte long header): original_network_id(16) reserved(8)
//   { service_id(16) reserved(6) EIT_schedule(1) EIT_p/f(1)
//     running_status(3) free_CA(1) descriptors_loop_length(12) descriptors }*  CRC_32
// service_descriptor 0x48: service_type(8) provider_name_length(8) provider_name
//   service_name_length(8) service_name

export interface ServiceName {
  serviceId: number;
  serviceType: number;
  provider: string;
  name: string;
}

/** Services named in one SDT section (CRC already checked). Truncated entries are skipped. */
export function parseServiceNames(s: Uint8Array): ServiceName[] {
  const out: ServiceName[] = [];
  const end = Math.min(s.length - 4, 3 + (((s[1] & 0x0f) << 8) | s[2]) - 4);
  let p = 11;
  while (p + 5 <= end) {
    const serviceId = (s[p] << 8) | s[p + 1];
    const loopLen = ((s[p + 3] & 0x0f) << 8) | s[p + 4];
    const dEnd = Math.min(p + 5 + loopLen, end);
    let d = p + 5;
    while (d + 2 <= dEnd) {
      const tag = s[d];
      const len = s[d + 1];
      const body = d + 2;
      if (body + len > dEnd) break;
      if (tag === 0x48 && len >= 3) {
        const provLen = s[body + 1];
        const provEnd = Math.min(body + 2 + provLen, body + len);
        const nameLen = provEnd < body + len ? s[provEnd] : 0;
        const nameEnd = Math.min(provEnd + 1 + nameLen, body + len);
        out.push({
          serviceId,
          serviceType: s[body],
          provider: dvbText(s, body + 2, provEnd),
          name: dvbText(s, provEnd + 1, nameEnd),
        });
      }
      d = body + len;
    }
    p += 5 + loopLen;
  }
  return out;
}

/**
 * Decodes DVB text (EN 300 468 Annex A). 0x15 → UTF-8; 0x11 → UCS-2 big-endian; a first byte
 * ≥ 0x20 (default table, ISO 6937) and the single-byte ISO 8859 selectors (0x01–0x0B,
 * 0x10 0x00 NN) are read as Latin-1, which is right for ASCII and close for Western text.
 * Control codes 0x80–0x9F (emphasis, CR/LF) are dropped.
 */
export function dvbText(b: Uint8Array, start: number, end: number): string {
  if (end <= start) return '';
  let p = start;
  const sel = b[p];
  if (sel === 0x15) return new TextDecoder('utf-8').decode(b.subarray(p + 1, end));
  if (sel === 0x11) {
    let s = '';
    for (p++; p + 1 < end; p += 2) s += String.fromCharCode((b[p] << 8) | b[p + 1]);
    return s;
  }
  if (sel === 0x10) p += 3;
  else if (sel < 0x20) p += 1;
  let s = '';
  for (; p < end; p++) {
    const c = b[p];
    if (c >= 0x80 && c < 0xa0) continue;
    s += String.fromCharCode(c);
  }
  return s;
}
