// What `headend scan` and `headend probe` tune: a tuner of channels.yaml (by id), a SAT>IP
// server (satip://host[:port]) or an HDHomeRun (hdhomerun://device/channel, or without the
// channel: its lineup), with `--transponder` tunings. Every tuning goes through the config's own
// tuner resolver (config/tuners.ts, leaf parsers of config/tuning-values.ts), so a transponder
// is checked exactly as a `tuners:` entry would be. --discover (HDHomeRun only) is written into
// a URL target's entry as its `discover:`.
//
// --transponder syntax: DELIVERY:FREQUENCY[:VALUE…][:KEY=VALUE…]
//   positional values by delivery system (the tuners: keys they fill):
//     dvbs, dvbs2   polarization, symbol_rate, modulation   dvbs2:11494M:h:22000k
//     dvbc          symbol_rate, modulation                 dvbc:346M:6900k:qam256
//     dvbt, dvbt2   bandwidth, plp                          dvbt2:474M:8M:1
//     atsc          modulation                              atsc:57M:8vsb
//   KEY=VALUE sets any of polarization, symbol_rate, modulation, fec, rolloff, pilots,
//   bandwidth, plp, diseqc, src.
// A value without "DELIVERY:" is a file with one transponder per line (# starts a comment).

import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { formatConfigError } from '../config/load.js';
import { Positions } from '../config/positions.js';
import { ErrorSink } from '../config/sink.js';
import { resolveTuners } from '../config/tuners.js';
import { formatHz, parseNetworkTunerUrl } from '../config/tuning-values.js';
import { fromSystemError, HeadendError, isHeadendError } from '../errors.js';
import { isDeviceIdText } from '../tuners/hdhomerun/packet.js';
import { DELIVERY_SYSTEMS, type DeliverySystem, type TunerSpec } from '../tuners/types.js';

/** One multiplex to open. */
export interface Transponder {
  /** 11494M H dvbs2 · hdhomerun 5.1 */
  label: string;
  tuner: TunerSpec;
  /** The `tuners:` entry that receives it as written in channels.yaml (a URL target, or a
   *  config tuner given another transponder), to add when no equal tuner exists. */
  entry?: Record<string, unknown>;
  /** Why channels of this multiplex cannot be written (a local adapter tuned elsewhere). */
  unwritable?: string;
}

export interface ScanPlan {
  transponders: Transponder[];
  /** The config file the tuner id came from. */
  configFile?: string;
}

/** hdhomerun://host with no channel: scan (or list) the device's lineup. */
export interface LineupTarget {
  lineupHost: string;
  port?: number;
  /** --discover: where device-id discovery is sent. */
  discover?: string;
}

/** Tuning keys after the delivery system and frequency. */
const TRANSPONDER_KEYS = [
  'polarization',
  'symbol_rate',
  'modulation',
  'fec',
  'rolloff',
  'pilots',
  'bandwidth',
  'plp',
];
/** The keys of a tuning (a config tuner's own are replaced by a --transponder's). */
const TUNING_KEYS = ['delivery', 'frequency', ...TRANSPONDER_KEYS];
/** What KEY=VALUE may set: those, and how the tuner reaches the transponder. */
const SETTABLE = [...TRANSPONDER_KEYS, 'diseqc', 'src'];
const POSITIONAL: Record<DeliverySystem, string[]> = {
  dvbs: ['polarization', 'symbol_rate', 'modulation'],
  dvbs2: ['polarization', 'symbol_rate', 'modulation'],
  dvbc: ['symbol_rate', 'modulation'],
  dvbt: ['bandwidth', 'plp'],
  dvbt2: ['bandwidth', 'plp'],
  atsc: ['modulation'],
};

const bad = (message: string): HeadendError => new HeadendError('E_BAD_TUNING', message);

/** `dvbs2:11494M:h:22000k` → the tuners: keys it sets (not yet checked). */
export function parseTransponder(text: string): Record<string, unknown> | HeadendError {
  const parts = text.trim().split(':');
  const delivery = parts[0].toLowerCase() as DeliverySystem;
  if (!DELIVERY_SYSTEMS.includes(delivery)) {
    return bad(
      `--transponder '${text}': starts with the delivery system, one of ${DELIVERY_SYSTEMS.join(', ')}`,
    );
  }
  if (parts.length < 2 || parts[1] === '') {
    return bad(`--transponder '${text}': no frequency (e.g. ${delivery}:${example(delivery)})`);
  }
  const raw: Record<string, unknown> = { delivery, frequency: parts[1] };
  const positional = POSITIONAL[delivery];
  let next = 0;
  for (const p of parts.slice(2)) {
    const eq = p.indexOf('=');
    let key: string;
    let value: string;
    if (eq >= 0) {
      key = p.slice(0, eq).trim().toLowerCase();
      value = p.slice(eq + 1).trim();
      if (!SETTABLE.includes(key)) {
        return bad(`--transponder '${text}': unknown key '${key}' (${SETTABLE.join(', ')})`);
      }
    } else {
      if (next >= positional.length) {
        return bad(
          `--transponder '${text}': too many values; ${delivery} takes ` +
            `${delivery}:FREQUENCY:${positional.map((k) => k.toUpperCase()).join(':')}`,
        );
      }
      key = positional[next++];
      value = p.trim();
    }
    raw[key] =
      /^\d+$/.test(value) && ['plp', 'diseqc', 'src'].includes(key) ? Number(value) : value;
  }
  return raw;
}

function example(d: DeliverySystem): string {
  return (
    { dvbs: '11494M:h:22000k', dvbs2: '11494M:h:22000k', dvbc: '346M:6900k:qam256' }[d as 'dvbs'] ??
    (d === 'atsc' ? '57M:8vsb' : '474M:8M')
  );
}

/** The --transponder values, files expanded (one transponder per line). */
export function expandTransponders(values: readonly string[]): string[] | HeadendError {
  const out: string[] = [];
  for (const v of values) {
    if (/^[a-z0-9]+:/i.test(v.trim())) {
      out.push(v.trim());
      continue;
    }
    let text: string;
    try {
      text = readFileSync(v, 'utf8');
    } catch (err) {
      return fromSystemError('E_IO', `cannot read the transponder list '${v}'`, err);
    }
    for (const line of text.split('\n')) {
      const l = line.replace(/#.*$/, '').trim();
      if (l !== '') out.push(l);
    }
  }
  return out;
}

/** Resolves one raw tuners: entry with the config's resolver; errors name the transponder. */
export function resolveEntry(
  entry: Record<string, unknown>,
  what: string,
): TunerSpec | HeadendError {
  const sink = new ErrorSink('', undefined);
  const { tuners } = resolveTuners([entry], sink);
  const spec = tuners.get(String(entry.id));
  if (spec !== undefined && sink.errors.length === 0) return spec;
  const msgs = sink.errors.map((e) =>
    e.path !== '' && e.message.startsWith(`${e.path}: `)
      ? `${e.path.replace(/^tuners\[0\]\.?/, '')}: ${e.message.slice(e.path.length + 2)}`.replace(
          /^: /,
          '',
        )
      : e.message,
  );
  return bad(`${what}: ${msgs.join('; ') || 'not a valid tuner'}`);
}

/**
 * "11494M H dvbs2" / "474M dvbt2" / "hdhomerun 5.1"; with what else tells two multiplexes on
 * one frequency apart: "11494M H dvbs2 src 2", "11494M H dvbs2 diseqc 3", "474M dvbt2 plp 1".
 */
export function transponderLabel(t: TunerSpec): string {
  if (t.kind === 'hdhomerun') return `hdhomerun ${t.channel}`;
  const pol = t.tuning.polarization !== undefined ? ` ${t.tuning.polarization.toUpperCase()}` : '';
  const more = [
    t.kind === 'satip' && t.src !== 1 ? ` src ${t.src}` : '',
    t.tuning.diseqc !== undefined ? ` diseqc ${t.tuning.diseqc}` : '',
    t.tuning.plp !== undefined ? ` plp ${t.tuning.plp}` : '',
  ].join('');
  return `${formatHz(t.tuning.frequencyHz)}${pol} ${t.tuning.delivery}${more}`;
}

/** A tuner id from a prefix and a transponder: astra-11494h, satip-10-0-0-9-474. */
export function tunerIdFor(prefix: string, t: TunerSpec): string {
  const tail =
    t.kind === 'hdhomerun'
      ? t.channel
      : `${Math.round(t.tuning.frequencyHz / 1e6)}${t.tuning.polarization ?? ''}`;
  const id = `${prefix}-${tail}`
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+/, '');
  return id.slice(0, 63).replace(/-+$/, '');
}

export interface TargetOptions {
  /** -c FILE, or the default lookup's result (undefined: none found). */
  configFile?: string;
  transponders: readonly string[];
  /**
   * --discover: where HDHomeRun device-id discovery is sent (instead of the broadcast). A URL
   * target's tuner entry takes it as its `discover:`, so that `headend run` finds the device
   * where the scan found it.
   */
  discover?: string;
}

const NOT_HDHR = '--discover is for HDHomeRun targets (where discovery looks for a device id)';

/**
 * The plan for a target: a tuner id (from the config), satip://…, hdhomerun://device/channel;
 * hdhomerun://device alone gives a LineupTarget (the caller fetches the lineup).
 */
export function resolveTarget(
  target: string,
  o: TargetOptions,
): ScanPlan | LineupTarget | HeadendError {
  const tps = expandTransponders(o.transponders);
  if (isHeadendError(tps)) return tps;
  const lineup = /^hdhomerun:\/\/([^/:?#@]+)(?::(\d+))?\/?$/i.exec(target.trim());
  if (lineup !== null) {
    if (tps.length > 0) return bad('an HDHomeRun tunes by channel: --transponder has no meaning');
    const l: LineupTarget = { lineupHost: lineup[1] };
    if (lineup[2] !== undefined) l.port = Number(lineup[2]);
    if (o.discover !== undefined) l.discover = o.discover;
    return l;
  }
  if (/^[a-z]+:\/\//i.test(target)) {
    const url = parseNetworkTunerUrl(target);
    if (!('kind' in url)) return bad(url.message);
    if (url.kind === 'hdhomerun') {
      if (tps.length > 0) return bad('an HDHomeRun tunes by channel: --transponder has no meaning');
      const entry = hdhrEntry(
        tunerIdFor(`hdhr-${url.host}`, hdhrSpec(url.host, url.channel ?? '')),
        target.trim(),
        url.host,
        o.discover,
      );
      const spec = resolveEntry(entry, target);
      if (isHeadendError(spec)) return spec;
      return { transponders: [{ label: transponderLabel(spec), tuner: spec, entry }] };
    }
    if (o.discover !== undefined) return new HeadendError('E_USAGE', NOT_HDHR);
    if (tps.length === 0) {
      return bad(
        `${target}: a SAT>IP server needs the transponders to tune: --transponder dvbs2:11494M:h:22000k`,
      );
    }
    const prefix = `satip-${url.host}`;
    return plan(tps, (keys) => ({ id: 'scan', url: target.trim(), ...keys }), prefix);
  }
  const p = configTuner(target, tps, o.configFile);
  if (
    !isHeadendError(p) &&
    o.discover !== undefined &&
    p.transponders[0]?.tuner.kind !== 'hdhomerun'
  )
    return new HeadendError('E_USAGE', NOT_HDHR);
  return p;
}

/**
 * The tuners: entry of an HDHomeRun channel; a device id found through --discover keeps that
 * address as its `discover:` (a host needs no discovery).
 */
export function hdhrEntry(
  id: string,
  url: string,
  device: string,
  discover: string | undefined,
): Record<string, unknown> {
  const entry: Record<string, unknown> = { id, url };
  if (discover !== undefined && isDeviceIdText(device)) entry.discover = discover;
  return entry;
}

function hdhrSpec(device: string, channel: string): TunerSpec {
  return { id: 'x', kind: 'hdhomerun', device, channel, port: 5004 };
}

function plan(
  tps: readonly string[],
  make: (keys: Record<string, unknown>) => Record<string, unknown>,
  prefix: string,
  base?: { id: string; spec: TunerSpec },
): ScanPlan | HeadendError {
  const transponders: Transponder[] = [];
  for (const text of tps) {
    const keys = parseTransponder(text);
    if (isHeadendError(keys)) return keys;
    const entry = make(keys);
    const spec = resolveEntry(entry, `--transponder '${text}'`);
    if (isHeadendError(spec)) return spec;
    const id = tunerIdFor(prefix, spec);
    const named = { ...spec, id } as TunerSpec;
    const t: Transponder = { label: transponderLabel(spec), tuner: named, entry: { ...entry, id } };
    if (base !== undefined && base.spec.kind === 'dvb') {
      delete t.entry;
      if (sameTuner(base.spec, spec)) t.tuner = base.spec;
      else {
        t.unwritable =
          `adapter ${base.spec.adapter} is tuner '${base.id}' on ${transponderLabel(base.spec)}; ` +
          `a local adapter tunes one transponder at a time`;
      }
    }
    transponders.push(t);
  }
  return { transponders };
}

/** Equal tuners but for the id. */
export function sameTuner(a: TunerSpec, b: TunerSpec): boolean {
  return JSON.stringify({ ...a, id: '' }) === JSON.stringify({ ...b, id: '' });
}

/** A tuner of channels.yaml, as is or given other transponders. */
function configTuner(
  id: string,
  tps: readonly string[],
  file: string | undefined,
): ScanPlan | HeadendError {
  if (file === undefined) {
    return bad(
      `'${id}' is not a satip:// or hdhomerun:// URL, and there is no config file to find a ` +
        `tuner of that id in (give one with -c FILE)`,
    );
  }
  const read = readTuners(file);
  if (isHeadendError(read)) return read;
  const spec = read.tuners.get(id);
  const raw = read.raw.find((r) => String(r.id) === id);
  if (spec === undefined || raw === undefined) {
    return bad(
      raw !== undefined
        ? `tuner '${id}' of ${file} is not valid: ${read.errors.join('; ')}`
        : `no tuner '${id}' in ${file}` +
            (read.tuners.size > 0 ? ` (tuners: ${[...read.tuners.keys()].join(', ')})` : ''),
    );
  }
  if (tps.length === 0) {
    return { transponders: [{ label: transponderLabel(spec), tuner: spec }], configFile: file };
  }
  if (spec.kind === 'hdhomerun')
    return bad('an HDHomeRun tunes by channel: --transponder has no meaning');
  const kept = Object.fromEntries(Object.entries(raw).filter(([k]) => !TUNING_KEYS.includes(k)));
  const p = plan(tps, (keys) => ({ ...kept, ...keys }), id, { id, spec });
  if (!isHeadendError(p)) p.configFile = file;
  return p;
}

/** The valid tuners of a config file, its raw entries, and the errors of the others. */
export function readTuners(
  file: string,
):
  | { tuners: Map<string, TunerSpec>; raw: Record<string, unknown>[]; errors: string[] }
  | HeadendError {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return fromSystemError('E_IO', `cannot read '${file}'`, err);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    return new HeadendError(
      'E_IO',
      `${file}: not valid YAML: ${doc.errors[0].message.split('\n')[0]}`,
    );
  }
  const data = (doc.toJS() ?? {}) as { tuners?: unknown };
  const sink = new ErrorSink(file, new Positions(doc, lines));
  const { tuners } = resolveTuners(data.tuners, sink);
  const raw = Array.isArray(data.tuners)
    ? data.tuners.filter((r): r is Record<string, unknown> => r !== null && typeof r === 'object')
    : [];
  return { tuners, raw, errors: sink.errors.map(formatConfigError) };
}
