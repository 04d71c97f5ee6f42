// `headend scan --write FILE`: appends the scanned services to channels.yaml as channels,
// through the yaml library's Document API so the file's comments and layout stay as written.
// Never overwrites: a service whose (tuner, service), number, slug or output is already a
// channel's is reported as a clash and left out; a second scan of the same multiplex adds
// nothing. Pure: text in, text and a report out.
//
// Each added channel:
//   - number: <LCN, or the next free number from --first-number (default max + 1, or 1)>
//     name: <SDT service name>            # radio   (radio services are marked by a comment:
//     output: udp://<base + i>:<port>       the schema has no key for it)
//     source: { tuner: <id>, service: <service_id> }
// one multicast group per channel from the base address upwards, skipping groups already used.
// A tuner entry is added to `tuners:` when the multiplex came from a URL or another transponder
// and no tuner of the file is equal to it; `tuners:` and `channels:` are created when missing.

import { isMap, isSeq, parseDocument, type Document, type YAMLMap, type YAMLSeq } from 'yaml';
import { slugify } from '../config/resolve.js';
import { ErrorSink } from '../config/sink.js';
import { resolveTuners } from '../config/tuners.js';
import { destinationProblem } from '../config/values.js';
import { HeadendError } from '../errors.js';
import type { ServiceKind } from '../../mpegts/service-scan.js';
import type { TunerSpec } from '../tuners/types.js';
import { sameTuner } from './target.js';

/** One scanned service offered to the file. */
export interface Candidate {
  serviceId: number;
  name: string;
  kind: ServiceKind;
  lcn?: number;
  /** The LCN's visible_service_flag: false = a hidden service, left out. */
  visible?: boolean;
  scrambled?: boolean;
  /** The multiplex it is on: its tuner, and the entry that would add that tuner. */
  tuner: TunerSpec;
  entry?: Record<string, unknown>;
  /** Set: this service cannot be written (the reason). */
  unwritable?: string;
  /** Label of the multiplex, for the comment and the report. */
  transponder: string;
}

export interface WriteOptions {
  /** First group and the port of every output: 239.255.10.1:5000. */
  base: { group: string; port: number };
  /** Numbers for services without an LCN start here (default: highest number + 1, or 1). */
  firstNumber?: number;
}

export interface Added {
  number: number;
  name: string;
  slug: string;
  output: string;
  tuner: string;
  serviceId: number;
  kind: ServiceKind;
}

export interface Skipped {
  name: string;
  serviceId: number;
  transponder: string;
  /** What clashed, or why it was left out. */
  reason: string;
}

export interface WriteReport {
  text: string;
  added: Added[];
  skipped: Skipped[];
  /** Ids of the tuner entries added. */
  tuners: string[];
}

interface Existing {
  numbers: Map<number, string>;
  slugs: Map<string, string>;
  groups: Map<string, string>;
  outputs: Map<string, string>;
  sources: Map<string, string>;
  tuners: Map<string, TunerSpec>;
  tunerIds: Set<string>;
}

const OUTPUT_RE = /^(?:udp|rtp):\/\/(?:[^@/]*@)?([\d.]+):(\d+)/i;

/** Appends the candidates to the YAML text; a HeadendError when the file's shape is not one we can add to. */
export function writeChannels(
  text: string,
  candidates: readonly Candidate[],
  o: WriteOptions,
): WriteReport | HeadendError {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    return new HeadendError('E_IO', `not valid YAML: ${doc.errors[0].message.split('\n')[0]}`);
  }
  if (doc.contents !== null && !isMap(doc.contents)) {
    return new HeadendError('E_IO', 'the file is not a mapping (headend:, tuners:, channels:)');
  }
  const ex = existing(doc.toJS() ?? {});
  const added: Added[] = [];
  const skipped: Skipped[] = [];
  const tunersAdded: string[] = [];
  const skip = (c: Candidate, reason: string): void => {
    skipped.push({ name: c.name, serviceId: c.serviceId, transponder: c.transponder, reason });
  };

  // The tuner each candidate's channel names: an equal tuner of the file, or a new entry.
  const tunerOf = new Map<Candidate, { id: string; entry?: Record<string, unknown> }>();
  const newTuners: { id: string; spec: TunerSpec; entry: Record<string, unknown> }[] = [];
  for (const c of candidates) {
    const same = [...ex.tuners.values()].find((t) => sameTuner(t, c.tuner));
    if (same !== undefined) tunerOf.set(c, { id: same.id });
    else {
      const made = newTuners.find((t) => sameTuner(t.spec, c.tuner));
      if (made !== undefined) tunerOf.set(c, { id: made.id, entry: made.entry });
      else if (c.entry !== undefined) {
        let id = String(c.entry.id);
        for (let n = 2; ex.tunerIds.has(id) || newTuners.some((t) => t.id === id); n++) {
          id = `${String(c.entry.id).slice(0, 58)}-${n}`;
        }
        const t = { id, spec: c.tuner, entry: { ...c.entry, id } };
        newTuners.push(t);
        tunerOf.set(c, { id, entry: t.entry });
      }
    }
  }

  // Services with an LCN first, so the numbers given to the others do not take theirs.
  const order = [...candidates].sort(
    (a, b) => (a.lcn !== undefined ? 0 : 1) - (b.lcn !== undefined ? 0 : 1),
  );
  let nextNumber = o.firstNumber ?? Math.max(0, ...ex.numbers.keys()) + 1;
  let groupIndex = 0;
  const items: { c: Candidate; a: Added }[] = [];
  for (const c of order) {
    if (c.unwritable !== undefined) {
      skip(c, c.unwritable);
      continue;
    }
    if (c.kind === 'data') {
      skip(c, 'a data service (no picture or sound)');
      continue;
    }
    if (c.visible === false) {
      skip(c, `a hidden service (LCN ${c.lcn ?? '?'} with visible_service_flag 0)`);
      continue;
    }
    const tuner = tunerOf.get(c);
    if (tuner === undefined) {
      skip(c, `no tuner of the file receives ${c.transponder}`);
      continue;
    }
    const src = ex.sources.get(`${tuner.id}#${c.serviceId}`);
    if (src !== undefined) {
      skip(c, `tuner ${tuner.id} service ${c.serviceId} is already ${src}`);
      continue;
    }
    let number: number;
    if (c.lcn !== undefined && c.lcn > 0) {
      number = c.lcn;
      const other = ex.numbers.get(number);
      if (other !== undefined) {
        skip(c, `number ${number} (its LCN) is already ${other}`);
        continue;
      }
    } else {
      while (ex.numbers.has(nextNumber)) nextNumber++;
      if (nextNumber > 65535) {
        skip(c, 'no channel number left (1-65535)');
        continue;
      }
      number = nextNumber;
    }
    const slug = slugify(c.name, number);
    const sameSlug = ex.slugs.get(slug);
    if (sameSlug !== undefined) {
      skip(c, `slug '${slug}' is already ${sameSlug}`);
      continue;
    }
    const output = nextOutput(o.base, () => groupIndex++, ex);
    if (output instanceof HeadendError) {
      skip(c, output.message);
      continue;
    }
    const a: Added = {
      number,
      name: c.name,
      slug,
      output,
      tuner: tuner.id,
      serviceId: c.serviceId,
      kind: c.kind,
    };
    const label = `channel ${number} '${c.name}' (added by this scan)`;
    ex.numbers.set(number, label);
    ex.slugs.set(slug, label);
    ex.sources.set(`${tuner.id}#${c.serviceId}`, label);
    items.push({ c, a });
    added.push(a);
  }

  // Only the tuners that a channel names are written.
  const used = new Set(added.map((a) => a.tuner));
  const tunersSeq = sequence(doc, 'tuners', 'channels');
  const channelsSeq = sequence(doc, 'channels');
  if (tunersSeq instanceof HeadendError) return tunersSeq;
  if (channelsSeq instanceof HeadendError) return channelsSeq;
  for (const t of newTuners) {
    if (!used.has(t.id)) continue;
    tunersSeq.add(doc.createNode(t.entry));
    tunersAdded.push(t.id);
  }
  let lastTransponder = '';
  for (const { c, a } of items.sort((x, y) => x.a.number - y.a.number)) {
    const node = doc.createNode({
      number: a.number,
      name: a.name,
      output: a.output,
      source: { tuner: a.tuner, service: a.serviceId },
    }) as YAMLMap;
    const source = node.get('source', true) as unknown as YAMLMap;
    source.flow = true;
    const marks = [c.kind === 'radio' ? 'radio' : '', c.scrambled === true ? 'scrambled' : '']
      .filter((m) => m !== '')
      .join(', ');
    if (marks !== '') {
      const name = node.get('name', true) as { comment?: string };
      name.comment = ` ${marks}`;
    }
    if (c.transponder !== lastTransponder) {
      node.commentBefore = ` headend scan: ${c.transponder} (tuner ${a.tuner})`;
      node.spaceBefore = channelsSeq.items.length > 0;
      lastTransponder = c.transponder;
    }
    channelsSeq.add(node);
  }
  const out = added.length > 0 ? doc.toString({ lineWidth: 0 }) : text;
  return {
    text: out,
    added: added.sort((x, y) => x.number - y.number),
    skipped,
    tuners: tunersAdded,
  };
}

/** The list at `key`, created when missing or empty (before `before` when that key exists). */
function sequence(doc: Document, key: string, before?: string): YAMLSeq | HeadendError {
  const node = doc.get(key, true);
  if (isSeq(node)) return node;
  if (node !== undefined && node !== null && !isScalarNull(node)) {
    return new HeadendError('E_IO', `'${key}:' is not a list; cannot add to it`);
  }
  const seq = doc.createNode([]) as YAMLSeq;
  if (doc.contents === null) doc.contents = doc.createNode({}) as unknown as typeof doc.contents;
  const map = doc.contents as unknown as YAMLMap;
  const at = before !== undefined ? map.items.findIndex((p) => keyOf(p.key) === before) : -1;
  if (node !== undefined) map.set(key, seq);
  else if (at >= 0) map.items.splice(at, 0, doc.createPair(key, seq));
  else map.set(key, seq);
  return seq;
}

function isScalarNull(node: unknown): boolean {
  return (node as { value?: unknown }).value === null;
}

function keyOf(k: unknown): unknown {
  return typeof k === 'object' && k !== null && 'value' in k ? (k as { value: unknown }).value : k;
}

/** What the file already has. */
function existing(data: Record<string, unknown>): Existing {
  const ex: Existing = {
    numbers: new Map(),
    slugs: new Map(),
    groups: new Map(),
    outputs: new Map(),
    sources: new Map(),
    tuners: new Map(),
    tunerIds: new Set(),
  };
  const rawTuners = Array.isArray(data.tuners) ? data.tuners : [];
  for (const t of rawTuners) if (t?.id !== undefined) ex.tunerIds.add(String(t.id));
  ex.tuners = resolveTuners(rawTuners, new ErrorSink('', undefined)).tuners;
  const channels = Array.isArray(data.channels) ? data.channels : [];
  for (const c of channels as Record<string, unknown>[]) {
    if (c === null || typeof c !== 'object') continue;
    const number = typeof c.number === 'number' ? c.number : undefined;
    const name = typeof c.name === 'string' || typeof c.name === 'number' ? String(c.name) : '';
    const label = `channel ${number ?? '?'} '${name}'`;
    if (number !== undefined) ex.numbers.set(number, label);
    const slug =
      typeof c.slug === 'string' ? c.slug : name !== '' ? slugify(name, number ?? 0) : '';
    if (slug !== '') ex.slugs.set(slug, label);
    const m = typeof c.output === 'string' ? OUTPUT_RE.exec(c.output.trim()) : null;
    if (m !== null) {
      ex.groups.set(m[1], label);
      ex.outputs.set(`${m[1]}:${m[2]}`, label);
    }
    const src = c.source as Record<string, unknown> | undefined;
    if (src !== null && typeof src === 'object' && src.tuner !== undefined) {
      const service = src.service ?? c.service;
      if (service !== undefined) ex.sources.set(`${String(src.tuner)}#${String(service)}`, label);
    }
  }
  return ex;
}

/** The next free group from the base upwards: udp://group:port. */
function nextOutput(
  base: { group: string; port: number },
  next: () => number,
  ex: Existing,
): string | HeadendError {
  const start = base.group.split('.').reduce((n, b) => n * 256 + Number(b), 0);
  for (;;) {
    const n = start + next();
    if (n > 0xefffffff) {
      return new HeadendError('E_USAGE', `no multicast group left above ${base.group}`);
    }
    const group = [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
    if (ex.groups.has(group) || destinationProblem(group) !== undefined) continue;
    ex.groups.set(group, 'this scan');
    ex.outputs.set(`${group}:${base.port}`, 'this scan');
    return `udp://${group}:${base.port}`;
  }
}
