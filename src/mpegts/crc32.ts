// CRC-32/MPEG-2 used by PSI/SI sections: ISO/IEC 13818-1 Annex A.
// Polynomial 0x04C11DB7, initial value 0xFFFFFFFF, no reflection, no final XOR.
// check("123456789") = 0x0376E6E7; the CRC over a whole section including its CRC_32 field is 0.

const TABLE = /* @__PURE__ */ (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32/MPEG-2 of buf[start, end). */
export function crc32Mpeg2(buf: Uint8Array, start = 0, end = buf.length): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++)
    crc = ((crc << 8) ^ TABLE[((crc >>> 24) ^ buf[i]) & 0xff]) >>> 0;
  return crc >>> 0;
}
