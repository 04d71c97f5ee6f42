// Reading dvbv5-zap's frontend statistics, printed once a second on stderr by libdvbv5's
// dvb_fe_snprintf_stat (Linux DVB API frontend statistics, DTV_STAT_*):
//
//   Lock   (0x1f) Signal= -38.00dBm C/N= 12.50dB UCB= 3 postBER= 2.10x10^-6
//   Carrier(0x03) Signal= 41.20% C/N= 0.00%
//
// The first word is the best FE_HAS_* flag (Lock, Sync, Viterbi, Carrier, Signal; blank
// when none); the status byte follows in parentheses (FE_HAS_LOCK = 0x10). Each statistic is
// `Name= value[unit]`: dBm or % for the signal, dB or % for C/N, a count for UCB, and
// a ratio for the BERs, possibly in the form m×10^e.

import type { TunerStatus } from '../types.js';

const FE_HAS_LOCK = 0x10;
const STATUS_RE = /^\s*(Lock|Sync|Viterbi|Carrier|Signal)?\s*\(0x([0-9a-f]{2})\)/i;
const STAT_RE = /([A-Za-z/]+)=\s*(-?\d+(?:\.\d+)?)(?:x10\^(-?\d+))?\s*(dBm|dB|%)?/g;

/** The status in one stderr line, or undefined when the line is not a statistics line. */
export function parseZapStatus(line: string, now = Date.now()): TunerStatus | undefined {
  const m = STATUS_RE.exec(line);
  if (m === null) return undefined;
  const flags = Number.parseInt(m[2], 16);
  const s: TunerStatus = { lock: (flags & FE_HAS_LOCK) !== 0, at: now };
  for (const st of line.slice(m[0].length).matchAll(STAT_RE)) {
    const [, name, num, exp, unit] = st;
    const value = Number(num) * (exp !== undefined ? 10 ** Number(exp) : 1);
    if (name === 'Signal') s.signal = { value, unit: unit === 'dBm' ? 'dBm' : '%' };
    else if (name === 'C/N') s.snr = { value, unit: unit === 'dB' ? 'dB' : '%' };
    else if (name === 'UCB') s.uncorrected = value;
    else if (name === 'postBER') s.ber = value;
  }
  return s;
}

/** What a dvbv5-zap error line means, with the fix where there is one. */
export function explainZapError(line: string, device: string): string | undefined {
  if (/permission denied/i.test(line)) {
    return (
      `permission denied on ${device}: add the headend's user to the video group ` +
      '(usermod -aG video headend), or install the unit with `headend install-systemd`'
    );
  }
  if (/device or resource busy/i.test(line)) {
    return `${device} is busy: another program holds it (find it with: fuser -v ${device})`;
  }
  if (/no such file|couldn't find|not found/i.test(line)) return `${device} is missing`;
  if (/doesn't lock/i.test(line)) return 'no lock';
  return undefined;
}
