// Descriptor loops shared by all tables: ISO/IEC 13818-1 §2.6 and ETSI EN 300 468 §6.
//   descriptor_tag(8) descriptor_length(8) data[descriptor_length]
// Tables keep descriptors they do not interpret as raw bytes so a remux passes them on intact.

export interface Descriptor {
  tag: number;
  data: Uint8Array;
}

export const DESC_REGISTRATION = 0x05;
export const DESC_ISO_639_LANGUAGE = 0x0a;

/** Parses a descriptor loop; a truncated last descriptor is dropped. */
export function parseDescriptors(b: Uint8Array, start: number, end: number): Descriptor[] {
  const out: Descriptor[] = [];
  let p = start;
  while (p + 2 <= end) {
    const tag = b[p];
    const len = b[p + 1];
    if (p + 2 + len > end) break;
    out.push({ tag, data: b.slice(p + 2, p + 2 + len) });
    p += 2 + len;
  }
  return out;
}

export function descriptorsLength(ds: readonly Descriptor[]): number {
  let n = 0;
  for (const d of ds) n += 2 + d.data.length;
  return n;
}

/** Writes a descriptor loop at b[o]; returns the offset after it. */
export function writeDescriptors(b: Uint8Array, o: number, ds: readonly Descriptor[]): number {
  for (const d of ds) {
    if (d.data.length > 255)
      throw new RangeError(`descriptor 0x${d.tag.toString(16)} longer than 255`);
    b[o++] = d.tag;
    b[o++] = d.data.length;
    b.set(d.data, o);
    o += d.data.length;
  }
  return o;
}

export function serializeDescriptors(ds: readonly Descriptor[]): Uint8Array {
  const out = new Uint8Array(descriptorsLength(ds));
  writeDescriptors(out, 0, ds);
  return out;
}

/** ISO_639_language_descriptor (§2.6.18): { ISO_639_language_code(24) audio_type(8) }* */
export function languagesOf(ds: readonly Descriptor[]): string[] {
  const langs: string[] = [];
  for (const d of ds) {
    if (d.tag !== DESC_ISO_639_LANGUAGE) continue;
    for (let p = 0; p + 4 <= d.data.length; p += 4) {
      langs.push(String.fromCharCode(d.data[p], d.data[p + 1], d.data[p + 2]));
    }
  }
  return langs;
}

export function languageDescriptor(lang: string, audioType = 0): Descriptor {
  const data = new Uint8Array(4);
  for (let i = 0; i < 3; i++) data[i] = lang.charCodeAt(i) & 0xff;
  data[3] = audioType;
  return { tag: DESC_ISO_639_LANGUAGE, data };
}

/** registration_descriptor (§2.6.8) format_identifier as 4 ASCII chars, e.g. "CUEI", "AC-3". */
export function registrationOf(ds: readonly Descriptor[]): string | undefined {
  const d = ds.find((x) => x.tag === DESC_REGISTRATION && x.data.length >= 4);
  return d ? String.fromCharCode(d.data[0], d.data[1], d.data[2], d.data[3]) : undefined;
}
