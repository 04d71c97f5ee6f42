// How a local DVB adapter is tuned: the DVBv5 channel file (libdvbv5's dvb-file format, as
// read by `dvbv5-zap -c FILE`) and the command line, generated from a TuningSpec. dvbv5-zap
// (Debian's dvb-tools) does the frontend work: DVBv5 properties (FE_SET_PROPERTY), LNB
// oscillator and band (22 kHz tone), polarization voltage (13/18 V), DiSEqC 1.0 and EN 50494
// unicable; with -r it stays tuned and prints the frontend's statistics once a second.
//
// Units in the channel file: FREQUENCY in kHz for satellite (the transponder, before the
// LNB: libdvbv5 subtracts the oscillator), in Hz otherwise; SYMBOL_RATE in symbols/s;
// BANDWIDTH_HZ in Hz; STREAM_ID = PLP.

import type { DvbTunerSpec, LnbSpec, Modulation, TuningSpec } from '../types.js';
import { isSatellite } from '../types.js';

/** The name of the entry in the generated channel file (the zap argument). */
export const ZAP_ENTRY = 'headend';

const DELIVERY: Record<TuningSpec['delivery'], string> = {
  dvbs: 'DVBS',
  dvbs2: 'DVBS2',
  dvbt: 'DVBT',
  dvbt2: 'DVBT2',
  dvbc: 'DVBC/ANNEX_A',
  atsc: 'ATSC',
};

const POLARIZATION = { h: 'HORIZONTAL', v: 'VERTICAL', l: 'LEFT', r: 'RIGHT' } as const;

const MODULATION: Record<Modulation, string> = {
  auto: 'QAM/AUTO',
  qpsk: 'QPSK',
  '8psk': 'PSK/8',
  '16apsk': 'APSK/16',
  '32apsk': 'APSK/32',
  qam16: 'QAM/16',
  qam32: 'QAM/32',
  qam64: 'QAM/64',
  qam128: 'QAM/128',
  qam256: 'QAM/256',
  '8vsb': 'VSB/8',
  '16vsb': 'VSB/16',
};

/**
 * libdvbv5's LNB types by their oscillators (`dvbv5-zap -l help` lists them): a `lnb:` of the
 * config maps to the one with the same oscillators, or to none (then the config is refused).
 */
const LNB_TYPES: { name: string; lowMHz: number; highMHz?: number; switchMHz?: number }[] = [
  { name: 'EXTENDED', lowMHz: 9750, highMHz: 10600, switchMHz: 11700 },
  { name: 'ENHANCED', lowMHz: 9750 },
  { name: 'STANDARD', lowMHz: 10000 },
  { name: 'L10700', lowMHz: 10700 },
  { name: 'L10750', lowMHz: 10750 },
  { name: 'DBS', lowMHz: 11250 },
  { name: 'L11300', lowMHz: 11300 },
  { name: '110BS', lowMHz: 10678 },
  { name: 'C-BAND', lowMHz: 5150 },
];

/** The libdvbv5 LNB type for these oscillators, or undefined. */
export function dvbv5Lnb(lnb: LnbSpec): string | undefined {
  const mhz = (hz: number | undefined): number | undefined =>
    hz === undefined ? undefined : Math.round(hz / 1e6);
  return LNB_TYPES.find(
    (t) =>
      t.lowMHz === mhz(lnb.lowHz) &&
      t.highMHz === mhz(lnb.highHz) &&
      t.switchMHz === mhz(lnb.switchHz),
  )?.name;
}

/** The oscillator sets dvbv5-zap knows, for an error message. */
export function knownLnbs(): string {
  return LNB_TYPES.map((t) =>
    t.highMHz === undefined
      ? `{ low: ${t.lowMHz}M }`
      : `{ low: ${t.lowMHz}M, high: ${t.highMHz}M, switch: ${t.switchMHz}M } (universal)`,
  ).join(', ');
}

/** The DVBv5 channel file with one entry, ZAP_ENTRY. */
export function channelFile(t: TuningSpec): string {
  const lines: [string, string | number][] = [['DELIVERY_SYSTEM', DELIVERY[t.delivery]]];
  if (isSatellite(t.delivery)) {
    lines.push(['FREQUENCY', Math.round(t.frequencyHz / 1000)]);
    lines.push(['POLARIZATION', POLARIZATION[t.polarization ?? 'h']]);
    lines.push(['SYMBOL_RATE', t.symbolRate ?? 0]);
    lines.push(['INNER_FEC', t.fec !== undefined ? t.fec.toUpperCase() : 'AUTO']);
    if (t.delivery === 'dvbs2') {
      lines.push(['MODULATION', t.modulation !== undefined ? MODULATION[t.modulation] : 'PSK/8']);
      // libdvbv5 names roll-offs by their hundredths (35, 25, 20).
      lines.push(['ROLLOFF', t.rolloff !== undefined ? t.rolloff.slice(2) : 'AUTO']);
      lines.push(['PILOT', t.pilots === undefined ? 'AUTO' : t.pilots ? 'ON' : 'OFF']);
    }
  } else {
    lines.push(['FREQUENCY', t.frequencyHz]);
    if (t.symbolRate !== undefined) lines.push(['SYMBOL_RATE', t.symbolRate]);
    if (t.bandwidthHz !== undefined) lines.push(['BANDWIDTH_HZ', t.bandwidthHz]);
    if (t.modulation !== undefined) lines.push(['MODULATION', MODULATION[t.modulation]]);
    if (t.delivery === 'dvbt' || t.delivery === 'dvbt2') {
      lines.push(['CODE_RATE_HP', 'AUTO'], ['CODE_RATE_LP', 'AUTO']);
      lines.push(['GUARD_INTERVAL', 'AUTO'], ['TRANSMISSION_MODE', 'AUTO']);
      lines.push(['HIERARCHY', 'AUTO']);
    }
  }
  if (t.plp !== undefined) lines.push(['STREAM_ID', t.plp]);
  lines.push(['INVERSION', 'AUTO']);
  return `[${ZAP_ENTRY}]\n${lines.map(([k, v]) => `\t${k} = ${v}\n`).join('')}`;
}

/** dvbv5-zap's arguments: tune ZAP_ENTRY of `confFile`, stay tuned (-r), report each second. */
export function zapArgs(spec: DvbTunerSpec, confFile: string): string[] {
  const t = spec.tuning;
  const args = ['-a', String(spec.adapter), '-f', String(spec.frontend), '-c', confFile, '-r'];
  if (isSatellite(t.delivery)) {
    const lnb = dvbv5Lnb(
      t.lnb ?? { lowHz: 9_750_000_000, highHz: 10_600_000_000, switchHz: 11_700_000_000 },
    );
    if (lnb !== undefined) args.push('-l', lnb);
    if (t.unicable !== undefined) {
      // EN 50494: the user band's slot goes where a DiSEqC port would (libdvbv5 sends the
      // ODU_Channel_change command to that SCR), the band's centre in kHz to -U.
      args.push(
        '-S',
        String(t.unicable.slot - 1),
        '-U',
        String(Math.round(t.unicable.frequencyHz / 1000)),
      );
    } else if (t.diseqc !== undefined) {
      args.push('-S', String(t.diseqc - 1));
    }
  }
  args.push(ZAP_ENTRY);
  return args;
}
