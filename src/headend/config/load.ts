// Loading channels.yaml: text → YAML document (with positions) → schema → typed, frozen
// HeadendSpec, or every error found, each as FILE:LINE:COLUMN: message.
//
// Order of checks: YAML syntax first (a document whose syntax is broken is reported alone:
// what a parser recovers from it would only produce misleading follow-on errors; duplicate
// keys are not fatal); then the shape of every section, each channel on its own so that a
// broken channel hides nothing in the others; then defaults, required keys and the rules
// across channels (unique numbers, slugs, outputs), from every key whose value is valid (a
// key with a bad value is reported once, never also as "missing"); last, the egress interfaces
// against the machine's (interfaces.ts): an output that cannot open must not pass.

import { accessSync, constants } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, type YAMLError } from 'yaml';
import { fromSystemError } from '../errors.js';
import { CONFIG_SEARCH_PATHS } from './defaults.js';
import { Positions } from './positions.js';
import {
  checkAcrossChannels,
  checkDefaults,
  configDir,
  headendBase,
  resolveAlert,
  resolveChannel,
} from './resolve.js';
import {
  HeadendSchema,
  parseChannel,
  RootSchema,
  type RawChannel,
  type RawHeadend,
} from './schema.js';
import { checkInterfaces, machineInterfaces, type InterfaceLookup } from './interfaces.js';
import { ErrorSink } from './sink.js';
import { DEFAULT_EPG_REFRESH_MS, resolveNetwork } from './network.js';
import { resolveTuners } from './tuners.js';
import { services } from './services.js';
import { resolveAccess } from './access.js';
import { resolveCluster } from './cluster.js';
import { resolve as resolvePath } from 'node:path';
import type { ChannelSpec, ConfigError, ConfigResult, HeadendSpec } from './types.js';
import { describe } from './values.js';

const HeadendFieldsSchema = HeadendSchema.omit({ defaults: true });

/** YAML problems that leave the document trustworthy enough to validate further. */
const NON_FATAL_YAML = new Set(['DUPLICATE_KEY']);

export interface LoadOptions {
  /**
   * The machine's interfaces, that every egress interface and sender address must be on
   * (default os.networkInterfaces()); null: not checked (a config written for another machine).
   */
  interfaces?: InterfaceLookup | null;
}

/** Parses and validates the text of a config file; `file` names it in errors. */
export function loadConfigText(text: string, file: string, opts: LoadOptions = {}): ConfigResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
    merge: true,
  });
  const positions = new Positions(doc, lines);
  const sink = new ErrorSink(file, positions);
  const yamlError = (e: YAMLError, message?: string): void => {
    const { line, column } = positions.at(e.pos[0]);
    sink.addAt(line, column, message ?? e.message.split('\n')[0]);
  };

  let fatal = false;
  for (const e of doc.errors) {
    const duplicate = e.code === 'DUPLICATE_KEY';
    yamlError(e, duplicate ? 'duplicate key: keys must be unique' : undefined);
    if (!NON_FATAL_YAML.has(e.code)) fatal = true;
  }
  for (const w of doc.warnings) yamlError(w);
  if (fatal) return { errors: sink.sorted() };

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    sink.addAt(1, 1, `cannot read the document: ${(err as Error).message}`);
    return { errors: sink.sorted() };
  }
  if (data === null || data === undefined) {
    sink.addAt(1, 1, 'the file is empty: expected headend: (optional) and channels:');
    return { errors: sink.sorted() };
  }

  const root = RootSchema.safeParse(data, { reportInput: true });
  if (!root.success) {
    sink.addIssues([], root.error.issues);
    if (root.error.issues.some((i) => i.path.length === 0 && i.code === 'invalid_type')) {
      return { errors: sink.sorted() };
    }
  }
  const top = data as { headend?: unknown; tuners?: unknown; channels?: unknown };

  // headend: its own fields and its defaults are parsed apart, so one bad field there does
  // not stop the channels from being checked against the others.
  let rawDefaults: unknown;
  let headendData: RawHeadend | undefined;
  if (top.headend !== undefined && top.headend !== null) {
    if (typeof top.headend !== 'object' || Array.isArray(top.headend)) {
      sink.add(
        ['headend'],
        `expected a mapping (name, interface, ttl, …), got ${describe(top.headend)}`,
      );
    } else {
      const { defaults, ...fields } = top.headend as Record<string, unknown>;
      rawDefaults = defaults;
      const parsed = HeadendFieldsSchema.safeParse(fields, { reportInput: true });
      if (parsed.success) headendData = parsed.data;
      else sink.addIssues(['headend'], parsed.error.issues);
    }
  }
  const base = headendBase(headendData, sink);
  const tuners = resolveTuners(top.tuners, sink);

  let defaults: RawChannel = {};
  let brokenDefaults = new Set<string>();
  if (rawDefaults !== undefined) {
    const d = parseChannel(rawDefaults);
    sink.addIssues(['headend', 'defaults'], d.issues);
    defaults = checkDefaults(d.data, sink);
    brokenDefaults = d.broken;
  }

  // channels
  const channels: { spec: ChannelSpec; index: number; raw: RawChannel }[] = [];
  if (top.channels === undefined || top.channels === null) {
    sink.add(
      top.channels === null ? ['channels'] : [],
      "missing required key 'channels' (the list of channels)",
    );
  } else if (!Array.isArray(top.channels)) {
    sink.add(['channels'], 'expected a list of channels (- number: …)');
  } else if (top.channels.length === 0) {
    sink.add(['channels'], 'the list of channels is empty');
  } else {
    const dir = configDir(file);
    top.channels.forEach((item, index) => {
      const parsed = parseChannel(item);
      sink.addIssues(['channels', index], parsed.issues);
      if (parsed.broken.has('*')) return;
      const broken = new Set([...parsed.broken, ...brokenDefaults]);
      const line = positions.line(['channels', index]);
      const spec = resolveChannel(parsed.data, index, {
        base,
        defaults,
        dir,
        sink,
        line,
        broken,
        tuners,
      });
      if (spec !== undefined) channels.push({ spec, index, raw: parsed.data });
    });
    checkAcrossChannels(channels, sink);
  }
  const interfaces = opts.interfaces === undefined ? machineInterfaces : opts.interfaces;
  if (interfaces !== null) {
    checkInterfaces({ headend: headendData, defaults, channels }, interfaces, sink);
  }

  const svc = services(
    headendData,
    base.ttl,
    channels.map((c) => c.spec),
    sink,
  );
  const alert = resolveAlert(headendData?.alert, {
    base,
    defaults: {},
    dir: configDir(file),
    sink,
    line: positions.line(['headend', 'alert']),
    tuners,
  });
  const access =
    headendData?.access === undefined
      ? null
      : resolveAccess(
          headendData.access,
          channels.map((c) => c.spec),
          (p) => resolvePath(configDir(file), p),
          (path, m) => sink.add(['headend', 'access', ...path], m),
        );
  if (sink.errors.length > 0) return { errors: sink.sorted() };
  const config: HeadendSpec = {
    name: base.name,
    network: resolveNetwork(headendData, base.name),
    epg: headendData?.epg ?? [],
    epgRefreshMs: headendData?.epg_refresh ?? DEFAULT_EPG_REFRESH_MS,
    interface: base.interface,
    ttl: base.ttl,
    tos: base.tos,
    ...svc,
    alert,
    access,
    cluster: resolveCluster(headendData?.cluster),
    tuners: [...tuners.tuners.values()],
    channels: channels.map((c) => c.spec),
    file,
  };
  if (headendData?.ffmpeg !== undefined) config.ffmpeg = headendData.ffmpeg;
  return { config: deepFreeze(config) };
}

/** Reads and validates a config file. An unreadable file is one error at line 0. */
export async function loadConfigFile(file: string, opts: LoadOptions = {}): Promise<ConfigResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { errors: [ioError(file, err)] };
  }
  return loadConfigText(text, file, opts);
}

/** "file:line:col: message" (just "file: message" for errors about the file as a whole). */
export function formatConfigError(e: ConfigError): string {
  return e.line > 0 ? `${e.file}:${e.line}:${e.column}: ${e.message}` : `${e.file}: ${e.message}`;
}

/**
 * The config file to use: `explicit` when given (it must be readable), else the first
 * readable file of `search` (./channels.yaml, then /etc/headend/channels.yaml).
 */
export function findConfigFile(
  explicit?: string,
  search: readonly string[] = CONFIG_SEARCH_PATHS,
): string | ConfigError {
  if (explicit !== undefined) {
    try {
      accessSync(explicit, constants.R_OK);
      return explicit;
    } catch (err) {
      return ioError(explicit, err);
    }
  }
  for (const candidate of search) {
    try {
      accessSync(candidate, constants.R_OK);
      return candidate;
    } catch {
      // try the next
    }
  }
  return {
    file: search[0] ?? 'channels.yaml',
    line: 0,
    column: 0,
    path: '',
    message: `no config file: looked for ${search.join(', ')} (give one with -c FILE)`,
  };
}

function ioError(file: string, err: unknown): ConfigError {
  const e = fromSystemError('E_IO', 'cannot read the file', err);
  return { file, line: 0, column: 0, path: '', message: e.message };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
