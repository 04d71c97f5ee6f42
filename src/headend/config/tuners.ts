// The `tuners:` section of channels.yaml: broadcast inputs that channels reference as
// `source: { tuner: <id>, service: <program_number> }`. One entry, one tuner, one transponder
// or multiplex; every channel on it shares the one opened source.
//
// ── reference ─────────────────────────────────────────────────────────────────────────────
// tuners:
//   - id: astra-1                 required, unique: letters, digits, - and _
//     adapter: 0                  a local Linux DVB adapter (/dev/dvb/adapter0), or instead:
//     url: satip://10.0.0.9       a SAT>IP server (satip://host[:port], RTSP port 554), or
//                                 hdhomerun://1010CAFE/5.1 (device id or host, then the
//                                 guide channel; read as http://host:5004/auto/v5.1)
//     frontend: 0                 DVB: the adapter's frontend (default 0)
//     delivery: dvbs2             dvbs, dvbs2, dvbt, dvbt2, dvbc, atsc (DVB and SAT>IP)
//     frequency: 11494M           transponder / centre frequency: 11494M, 11.494G, 474MHz
//                                 (a plain number is Hz). Satellite 3.4G-4.2G or 10.7G-12.75G
//                                 (or 950M-2150M, an IF with no LNB), terrestrial 47M-1G,
//                                 cable 47M-1.2G, ATSC 54M-900M
//     polarization: h             satellite: h, v, l, r (or horizontal, vertical, left, right)
//     symbol_rate: 22000k         satellite and cable: 22000k, 27.5M, 6900k
//     modulation: 8psk            auto (default), qpsk, 8psk, 16apsk, 32apsk, qam16-qam256,
//                                 8vsb, 16vsb (cable and ATSC need one)
//     fec: 3/4                    satellite: inner FEC 1/2, 2/3, 3/4, 3/5, 4/5, 5/6, 7/8, 8/9,
//                                 9/10 or auto (default auto)
//     rolloff: 0.35               DVB-S2: 0.35, 0.25 or 0.20 (default auto)
//     pilots: on                  DVB-S2: on or off (default auto)
//     lnb: universal              DVB satellite: universal (9750M/10600M, switch 11700M, the
//                                 default) or { low: 10750M } or { low, high, switch }
//     diseqc: 1                   DVB satellite: DiSEqC 1.0 committed port 1-4 (default none)
//     unicable: { slot: 1, frequency: 1210M }
//                                 DVB satellite: EN 50494 user band (slot 1-8, its frequency)
//     bandwidth: 8M               terrestrial: 1.712M, 5M, 6M, 7M, 8M (default), 10M
//     plp: 0                      DVB-T2 PLP (or S2 stream) id, 0-255
//     src: 1                      SAT>IP: the server's input (src=), 1-255 (default 1)
//     transport: udp              SAT>IP: RTP over udp (default) or tcp (in the RTSP link)
//     tune_timeout: 10s           no lock this long after tuning = the tuner failed (1s-2m)
//     devices: /dev/dvb           DVB: where the adapters are (default /dev/dvb)
//     zap: dvbv5-zap              DVB: the tuning program (default dvbv5-zap from dvb-tools)
//     demux: /path/helper         DVB: the PID filter + dvr reader (default the package's
//                                 scripts/dvb-demux.py); zap and demux name test stand-ins
//     discover: 192.168.1.255     HDHomeRun: where device-id discovery is sent (default the
//                                 broadcast address 255.255.255.255)
// ───────────────────────────────────────────────────────────────────────────────────────────

import { z } from 'zod';
import {
  DELIVERY_SYSTEMS,
  isSatellite,
  FEC_RATES,
  MODULATIONS,
  UNIVERSAL_LNB,
  type DeliverySystem,
  type TunerSpec,
  type TuningSpec,
} from '../tuners/types.js';
import { dvbv5Lnb, knownLnbs } from '../tuners/dvb/zap-args.js';
import { DEFAULTS } from './defaults.js';
import type { PathSegment } from './positions.js';
import type { ErrorSink } from './sink.js';
import { didYouMean } from './suggest.js';
import {
  bandwidth,
  formatHz,
  lnb,
  networkTunerUrl,
  onOff,
  parseHz,
  polarization,
  rolloff,
  symbolRate,
  tunerId,
} from './tuning-values.js';
import { describe, duration, integer, invalid, leaf, nonEmpty } from './values.js';

function oneOf<T extends string>(names: readonly T[], what: string) {
  return leaf((v) =>
    typeof v === 'string' && (names as readonly string[]).includes(v.trim().toLowerCase())
      ? (v.trim().toLowerCase() as T)
      : invalid(
          `unknown ${what} ${describe(v)}${typeof v === 'string' ? didYouMean(v, names) : ''}; ` +
            `expected one of ${names.join(', ')}`,
        ),
  );
}

export const TunerSchema = z.strictObject({
  id: tunerId().optional(),
  adapter: integer(0, 255).optional(),
  url: networkTunerUrl().optional(),
  frontend: integer(0, 255).optional(),
  delivery: oneOf(DELIVERY_SYSTEMS, 'delivery system').optional(),
  frequency: leaf(parseHz).optional(),
  polarization: polarization().optional(),
  symbol_rate: symbolRate().optional(),
  modulation: oneOf(MODULATIONS, 'modulation').optional(),
  fec: oneOf(FEC_RATES, 'FEC rate').optional(),
  rolloff: rolloff().optional(),
  pilots: onOff('pilots').optional(),
  lnb: lnb().optional(),
  diseqc: integer(1, 4).optional(),
  unicable: z.strictObject({ slot: integer(1, 8), frequency: leaf(parseHz) }).optional(),
  bandwidth: bandwidth().optional(),
  plp: integer(0, 255).optional(),
  src: integer(1, 255).optional(),
  transport: oneOf(['udp', 'tcp'] as const, 'transport').optional(),
  tune_timeout: duration(1000, 120_000).optional(),
  devices: nonEmpty('a directory').optional(),
  zap: nonEmpty('a program').optional(),
  demux: nonEmpty('a program').optional(),
  discover: nonEmpty('an IPv4 address').optional(),
});
export type RawTuner = z.output<typeof TunerSchema>;
export const TUNER_KEYS = Object.keys(TunerSchema.shape);

/** Frequency ranges (Hz) per delivery system, for the message too. */
const RANGES: Record<DeliverySystem, [number, number][]> = {
  dvbs: SAT_RANGES(),
  dvbs2: SAT_RANGES(),
  dvbt: [[47e6, 1e9]],
  dvbt2: [[47e6, 1e9]],
  dvbc: [[47e6, 1.2e9]],
  atsc: [[54e6, 900e6]],
};
function SAT_RANGES(): [number, number][] {
  return [
    [950e6, 2150e6],
    [3.4e9, 4.2e9],
    [10.7e9, 12.75e9],
  ];
}

/** Keys that apply only to some kinds or delivery systems: [key, applies?, "only for …"]. */
type KeyRule = [keyof RawTuner, (kind: TunerSpec['kind'], d?: DeliverySystem) => boolean, string];
const sat = (k: TunerSpec['kind'], d?: DeliverySystem): boolean =>
  k !== 'hdhomerun' && d !== undefined && isSatellite(d);
const KEY_RULES: KeyRule[] = [
  ['frontend', (k) => k === 'dvb', 'a local adapter'],
  ['devices', (k) => k === 'dvb', 'a local adapter'],
  ['zap', (k) => k === 'dvb', 'a local adapter'],
  ['demux', (k) => k === 'dvb', 'a local adapter'],
  ['src', (k) => k === 'satip', 'a SAT>IP server'],
  ['transport', (k) => k === 'satip', 'a SAT>IP server'],
  ['discover', (k) => k === 'hdhomerun', 'an HDHomeRun'],
  ['polarization', sat, 'satellite'],
  ['lnb', (k, d) => k === 'dvb' && sat(k, d), 'satellite on a local adapter'],
  ['diseqc', (k, d) => k === 'dvb' && sat(k, d), 'satellite on a local adapter'],
  ['unicable', (k, d) => k === 'dvb' && sat(k, d), 'satellite on a local adapter'],
  [
    'symbol_rate',
    (k, d) => k !== 'hdhomerun' && (sat(k, d) || d === 'dvbc'),
    'satellite and cable',
  ],
  ['bandwidth', (k, d) => k !== 'hdhomerun' && (d === 'dvbt' || d === 'dvbt2'), 'terrestrial'],
  ['plp', (k, d) => k !== 'hdhomerun' && (d === 'dvbt2' || d === 'dvbs2'), 'DVB-T2 and DVB-S2'],
  ['fec', sat, 'satellite'],
  ['rolloff', (k, d) => k !== 'hdhomerun' && d === 'dvbs2', 'DVB-S2'],
  ['pilots', (k, d) => k !== 'hdhomerun' && d === 'dvbs2', 'DVB-S2'],
  ['modulation', (k) => k !== 'hdhomerun', 'a DVB adapter or SAT>IP'],
  ['delivery', (k) => k !== 'hdhomerun', 'a DVB adapter or SAT>IP'],
  ['frequency', (k) => k !== 'hdhomerun', 'a DVB adapter or SAT>IP'],
];

/**
 * Parses and checks `tuners:`. Returns the valid tuners by id, and the ids of entries that
 * were reported broken (channels naming them are not reported again).
 */
export function resolveTuners(
  raw: unknown,
  sink: ErrorSink,
): { tuners: Map<string, TunerSpec>; broken: Set<string> } {
  const tuners = new Map<string, TunerSpec>();
  const broken = new Set<string>();
  if (raw === undefined || raw === null) return { tuners, broken };
  if (!Array.isArray(raw)) {
    sink.add(['tuners'], 'expected a list of tuners (- id: …)');
    return { tuners, broken };
  }
  const adapters = new Map<string, string>();
  raw.forEach((item, index) => {
    const at = (...rest: PathSegment[]): PathSegment[] => ['tuners', index, ...rest];
    const before = sink.errors.length;
    const parsed = TunerSchema.safeParse(item, { reportInput: true });
    let t: RawTuner;
    if (parsed.success) t = parsed.data;
    else {
      sink.addIssues(at(), parsed.error.issues);
      if (item === null || typeof item !== 'object' || Array.isArray(item)) return;
      // Check the rest with the keys that are valid on their own, to report everything at once.
      t = validKeys(item as Record<string, unknown>);
    }
    if (t.id === undefined) {
      if ((item as Record<string, unknown>).id === undefined) {
        sink.add(at(), "missing required key 'id' (the name channels use: source: { tuner: id })");
      }
      return;
    }
    if (tuners.has(t.id) || broken.has(t.id)) {
      sink.add(at('id'), `tuner id '${t.id}' is already used`);
      return;
    }
    if (!parsed.success) broken.add(t.id);
    const given = new Set(Object.keys(item as object));
    const spec = resolveTuner(t as RawTuner & { id: string }, given, at, sink);
    if (spec !== undefined && sink.errors.length === before) {
      if (spec.kind === 'dvb') {
        const dev = `${spec.devices}/adapter${spec.adapter}/frontend${spec.frontend}`;
        const other = adapters.get(dev);
        if (other !== undefined) {
          sink.add(at('adapter'), `${dev} is already tuner '${other}'`);
          broken.add(t.id);
          return;
        }
        adapters.set(dev, t.id);
      }
      tuners.set(t.id, spec);
    } else broken.add(t.id);
  });
  return { tuners, broken };
}

function validKeys(item: Record<string, unknown>): RawTuner {
  const data: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(item)) {
    const schema = (TunerSchema.shape as Record<string, z.ZodType | undefined>)[key];
    const one = schema?.safeParse(value);
    if (one?.success) data[key] = one.data;
  }
  return data as RawTuner;
}

function resolveTuner(
  t: RawTuner & { id: string },
  given: ReadonlySet<string>,
  at: (...rest: PathSegment[]) => PathSegment[],
  sink: ErrorSink,
): TunerSpec | undefined {
  if (given.has('adapter') !== (t.adapter !== undefined)) return undefined; // reported
  if (given.has('url') !== (t.url !== undefined)) return undefined;
  if ((t.adapter === undefined) === (t.url === undefined)) {
    sink.add(
      at(),
      t.adapter === undefined
        ? 'a tuner needs adapter (a local DVB adapter) or url (satip:// or hdhomerun://)'
        : 'a tuner has adapter or url, not both',
    );
    return undefined;
  }
  const kind: TunerSpec['kind'] = t.adapter !== undefined ? 'dvb' : (t.url?.kind ?? 'satip');
  // With a delivery system given but invalid (reported), which keys apply is unknown.
  const rules = given.has('delivery') && t.delivery === undefined ? [] : KEY_RULES;
  for (const [key, applies, only] of rules) {
    if (t[key] !== undefined && !applies(kind, t.delivery)) {
      sink.add(at(key), `${key} applies only to ${only}`, true);
    }
  }
  const timeout = t.tune_timeout ?? DEFAULTS.tuneTimeoutMs;
  if (kind === 'hdhomerun') {
    const u = t.url as NonNullable<RawTuner['url']>;
    const spec: TunerSpec = {
      id: t.id,
      kind,
      device: u.host,
      channel: u.channel ?? '',
      port: u.port ?? 5004,
    };
    if (t.discover !== undefined) spec.discover = t.discover;
    return spec;
  }
  const tuning = resolveTuning(t, kind, given, at, sink);
  if (tuning === undefined) return undefined;
  if (kind === 'dvb') {
    const spec: TunerSpec = {
      id: t.id,
      kind,
      adapter: t.adapter as number,
      frontend: t.frontend ?? 0,
      tuning,
      tuneTimeoutMs: timeout,
      devices: (t.devices ?? '/dev/dvb').replace(/\/+$/, ''),
      zap: t.zap ?? 'dvbv5-zap',
    };
    if (t.demux !== undefined) spec.demux = t.demux;
    if (tuning.lnb !== undefined && dvbv5Lnb(tuning.lnb) === undefined) {
      sink.add(
        at('lnb'),
        `dvbv5-zap has no LNB type with these oscillators; known: ${knownLnbs()}`,
      );
      return undefined;
    }
    return spec;
  }
  const u = t.url as NonNullable<RawTuner['url']>;
  return {
    id: t.id,
    kind: 'satip',
    host: u.host,
    port: u.port ?? 554,
    tuning,
    src: t.src ?? 1,
    transport: t.transport ?? 'udp',
    tuneTimeoutMs: timeout,
  };
}

function resolveTuning(
  t: RawTuner,
  kind: 'dvb' | 'satip',
  given: ReadonlySet<string>,
  at: (...rest: PathSegment[]) => PathSegment[],
  sink: ErrorSink,
): TuningSpec | undefined {
  const missing = (key: string, what: string): undefined => {
    if (!given.has(key)) sink.add(at(), `missing required key '${key}' (${what})`);
    return undefined;
  };
  if (t.delivery === undefined)
    return missing('delivery', 'dvbs, dvbs2, dvbt, dvbt2, dvbc or atsc');
  if (t.frequency === undefined) return missing('frequency', 'e.g. 11494M');
  const d = t.delivery;
  const f = t.frequency;
  const ranges = RANGES[d];
  if (!ranges.some(([lo, hi]) => f >= lo && f <= hi)) {
    const list = ranges.map(([lo, hi]) => `${formatHz(lo)}-${formatHz(hi)}`).join(', ');
    sink.add(at('frequency'), `frequency ${formatHz(f)}Hz is outside ${d}'s ${list}`);
    return undefined;
  }
  const tuning: TuningSpec = { delivery: d, frequencyHz: f };
  if (isSatellite(d)) {
    if (t.polarization === undefined) return missing('polarization', 'h, v, l or r');
    if (t.symbol_rate === undefined) return missing('symbol_rate', 'e.g. 22000k');
    tuning.polarization = t.polarization;
    tuning.symbolRate = t.symbol_rate;
    if (t.fec !== undefined && t.fec !== 'auto') tuning.fec = t.fec;
    if (t.rolloff !== undefined) tuning.rolloff = t.rolloff;
    if (t.pilots !== undefined) tuning.pilots = t.pilots;
    if (t.symbol_rate < 1e6 || t.symbol_rate > 45e6) {
      sink.add(at('symbol_rate'), 'a satellite symbol rate is 1M to 45M (e.g. 22000k, 27.5M)');
    }
    if (kind === 'dvb') {
      const lnbSpec = t.lnb ?? UNIVERSAL_LNB;
      tuning.lnb = lnbSpec;
      if (f >= 3.4e9) {
        const high = lnbSpec.switchHz !== undefined && f >= lnbSpec.switchHz;
        const lof = high ? (lnbSpec.highHz as number) : lnbSpec.lowHz;
        const ifHz = Math.abs(f - lof);
        if (ifHz < 950e6 || ifHz > 2150e6) {
          sink.add(
            at('frequency'),
            `${formatHz(f)}Hz with the LNB's ${formatHz(lof)}Hz oscillator gives an IF of ` +
              `${formatHz(ifHz)}Hz, outside the tuner's 950M-2150M: check lnb:`,
          );
        }
      }
      if (t.diseqc !== undefined) tuning.diseqc = t.diseqc;
      if (t.unicable !== undefined) {
        const bandHz = t.unicable.frequency;
        if (bandHz < 950e6 || bandHz > 2150e6) {
          sink.add(at('unicable', 'frequency'), 'a unicable user band is within 950M-2150M');
        }
        tuning.unicable = { slot: t.unicable.slot, frequencyHz: bandHz };
      }
    }
  } else if (d === 'dvbc') {
    if (t.symbol_rate === undefined) return missing('symbol_rate', 'e.g. 6900k');
    tuning.symbolRate = t.symbol_rate;
    if (t.symbol_rate < 1e6 || t.symbol_rate > 7.2e6) {
      sink.add(at('symbol_rate'), 'a DVB-C symbol rate is 1M to 7.2M (e.g. 6900k)');
    }
  } else if (d === 'dvbt' || d === 'dvbt2') {
    tuning.bandwidthHz = t.bandwidth ?? 8_000_000;
  }
  if (t.plp !== undefined) tuning.plp = t.plp;
  if (t.modulation !== undefined) tuning.modulation = t.modulation;
  if ((d === 'dvbc' || d === 'atsc') && t.modulation === undefined) {
    return missing(
      'modulation',
      d === 'atsc' ? '8vsb, or qam64 / qam256 for US cable' : 'e.g. qam256',
    );
  }
  return tuning;
}
