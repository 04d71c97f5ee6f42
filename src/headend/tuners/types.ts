// The broadcast inputs' vocabulary: how a tuner is tuned (TuningSpec, the keys of a
// `tuners:` entry in channels.yaml), which kind of tuner it is (TunerSpec), and what its front
// end reports (TunerStatus). Units are fixed here so every backend agrees: frequencies in Hz,
// symbol rates in symbols/s, bandwidths in Hz.

/** Delivery systems we tune (EN 300 421 / 302 307 satellite, 300 744 / 302 755 terrestrial,
 * 300 429 cable, ATSC A/53). */
export const DELIVERY_SYSTEMS = ['dvbs', 'dvbs2', 'dvbt', 'dvbt2', 'dvbc', 'atsc'] as const;
export type DeliverySystem = (typeof DELIVERY_SYSTEMS)[number];

export function isSatellite(d: DeliverySystem): boolean {
  return d === 'dvbs' || d === 'dvbs2';
}

/** h horizontal, v vertical, l left-hand circular, r right-hand circular. */
export type Polarization = 'h' | 'v' | 'l' | 'r';

/** Cable and ATSC constellations, and DVB-S2's (satellite `modulation:` is optional). */
export const MODULATIONS = [
  'auto',
  'qpsk',
  '8psk',
  '16apsk',
  '32apsk',
  'qam16',
  'qam32',
  'qam64',
  'qam128',
  'qam256',
  '8vsb',
  '16vsb',
] as const;
export type Modulation = (typeof MODULATIONS)[number];

/** Satellite inner FEC (code rate); `auto` lets the demodulator find it. */
export const FEC_RATES = [
  'auto',
  '1/2',
  '2/3',
  '3/4',
  '3/5',
  '4/5',
  '5/6',
  '7/8',
  '8/9',
  '9/10',
] as const;
export type FecRate = (typeof FEC_RATES)[number];

/** DVB-S2 roll-off factors (EN 302 307); DVB-S is always 0.35. */
export const ROLLOFFS = ['0.35', '0.25', '0.20'] as const;
export type Rolloff = (typeof ROLLOFFS)[number];

/** LNB local oscillators (Hz). Universal: 9.75 / 10.6 GHz, switching at 11.7 GHz. */
export interface LnbSpec {
  lowHz: number;
  /** Absent: a single-oscillator LNB (no 22 kHz band switch). */
  highHz?: number;
  /** Transponders at or above this use the high oscillator (22 kHz tone on). */
  switchHz?: number;
}

export const UNIVERSAL_LNB: LnbSpec = {
  lowHz: 9_750_000_000,
  highHz: 10_600_000_000,
  switchHz: 11_700_000_000,
};

/** Tuning of one transponder / multiplex. Which keys apply depends on `delivery`. */
export interface TuningSpec {
  delivery: DeliverySystem;
  /** Transponder (satellite: the downlink, before the LNB) or centre frequency, Hz. */
  frequencyHz: number;
  /** Satellite only. */
  polarization?: Polarization;
  /** Satellite and cable, symbols/s. */
  symbolRate?: number;
  /** Satellite, local adapters: the LNB (SAT>IP servers own theirs). Default universal. */
  lnb?: LnbSpec;
  /** Satellite: DiSEqC 1.0 committed port 1-4 (absent: no DiSEqC). */
  diseqc?: number;
  /** Satellite: unicable (EN 50494) user band: slot 1-8 and its frequency in Hz. */
  unicable?: { slot: number; frequencyHz: number };
  /** Terrestrial: channel bandwidth in Hz (1.7, 5, 6, 7, 8, 10 MHz). */
  bandwidthHz?: number;
  /** DVB-T2 (and S2 multistream): PLP / stream id, 0-255. */
  plp?: number;
  modulation?: Modulation;
  /** Satellite: inner FEC (absent: auto). */
  fec?: FecRate;
  /** DVB-S2: roll-off (absent: auto). */
  rolloff?: Rolloff;
  /** DVB-S2: pilot symbols on or off (absent: auto). */
  pilots?: boolean;
}

/** A local Linux DVB adapter: /dev/dvb/adapterN/{frontendM, demuxM, dvrM}. */
export interface DvbTunerSpec {
  id: string;
  kind: 'dvb';
  adapter: number;
  frontend: number;
  tuning: TuningSpec;
  /** No lock this long after the tune = failure 'tuner'. */
  tuneTimeoutMs: number;
  /** Directory holding the adapters (default /dev/dvb; a stand-in's directory in tests). */
  devices: string;
  /** The tuning program (default dvbv5-zap on PATH). */
  zap: string;
  /** The demux helper (default the package's scripts/dvb-demux.py); a stand-in in tests. */
  demux?: string;
}

/** A SAT>IP 1.2 server (RTSP control, RTP data). */
export interface SatipTunerSpec {
  id: string;
  kind: 'satip';
  host: string;
  /** RTSP port, default 554. */
  port: number;
  tuning: TuningSpec;
  /** SAT>IP `src=` (the server's satellite position / input), 1-255; default 1. */
  src: number;
  /** RTP over UDP (default) or interleaved in the RTSP TCP connection. */
  transport: 'udp' | 'tcp';
  tuneTimeoutMs: number;
}

/** An HDHomeRun network tuner, read as HTTP MPEG-TS. */
export interface HdhomerunTunerSpec {
  id: string;
  kind: 'hdhomerun';
  /** An 8-hex-digit device id (found by discovery) or a host name / address. */
  device: string;
  /** Guide channel (`5.1`, `705`) as in the device's lineup. */
  channel: string;
  /** HTTP port of the stream service, default 5004. */
  port: number;
  /** Where device-id discovery is sent (default the broadcast address). */
  discover?: string;
}

export type TunerSpec = DvbTunerSpec | SatipTunerSpec | HdhomerunTunerSpec;

/** What a front end reports; each field only when the driver / server reports it. */
export interface TunerStatus {
  lock: boolean;
  /** Signal level: dBm where the driver gives a decibel scale, else percent. */
  signal?: { value: number; unit: 'dBm' | '%' };
  /** Carrier to noise: dB, or percent (a quality figure). */
  snr?: { value: number; unit: 'dB' | '%' };
  /** Bit error rate after the inner code (0-1). */
  ber?: number;
  /** Uncorrected blocks since the tune (a counter). */
  uncorrected?: number;
  /** Date.now() of the reading. */
  at: number;
}
