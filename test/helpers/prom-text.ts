// A strict parser of the Prometheus text exposition format 0.0.4 for tests (no well-kept npm
// parser is installed here). It throws on anything the format does not allow: bad metric or
// label names, bad escapes, a value that is not a float, a sample before its TYPE, a family split
// in two, a duplicate series, a TYPE or HELP given twice; for histograms it also checks that
// every series has _bucket with le (cumulative, ending at +Inf = _count), _sum and _count.
// https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format

export type PromType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromFamily {
  name: string;
  help?: string;
  type: PromType;
  samples: PromSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(s: string, where: string): number {
  // "a float represented as required by Go's ParseFloat()": NaN and Inf in any letter case
  // (prom-client writes NaN as "Nan"), with an optional sign on Inf/Infinity.
  if (/^nan$/i.test(s)) return NaN;
  const inf = /^([-+]?)inf(inity)?$/i.exec(s);
  if (inf) return inf[1] === '-' ? -Infinity : Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s))
    throw new Error(`${where}: bad value ${s}`);
  return Number(s);
}

function unescapeHelp(s: string, where: string): string {
  return s.replace(/\\(.?)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    throw new Error(`${where}: bad escape \\${c} in HELP`);
  });
}

/** The family a sample name belongs to, given the declared types. */
function familyOf(name: string, families: Map<string, PromFamily>): PromFamily | undefined {
  const f = families.get(name);
  if (f) return f;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const base = families.get(name.slice(0, -suffix.length));
      if (base && (base.type === 'histogram' || (base.type === 'summary' && suffix !== '_bucket')))
        return base;
    }
  }
  return undefined;
}

function parseLabels(s: string, where: string): [Record<string, string>, number] {
  // s starts just after '{'; returns the labels and the index after '}'.
  const labels: Record<string, string> = {};
  let i = 0;
  for (;;) {
    if (s[i] === '}') return [labels, i + 1];
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(s.slice(i));
    if (!m) throw new Error(`${where}: bad label at ${JSON.stringify(s.slice(i))}`);
    const lname = m[1]!;
    i += m[0].length;
    let value = '';
    for (;;) {
      const c = s[i];
      if (c === undefined) throw new Error(`${where}: unterminated label value`);
      if (c === '"') break;
      if (c === '\\') {
        const e = s[i + 1];
        if (e === '\\') value += '\\';
        else if (e === '"') value += '"';
        else if (e === 'n') value += '\n';
        else throw new Error(`${where}: bad escape \\${e} in label value`);
        i += 2;
      } else {
        value += c;
        i++;
      }
    }
    i++;
    if (lname in labels) throw new Error(`${where}: label ${lname} twice`);
    if (!LABEL_NAME.test(lname) || lname.startsWith('__'))
      throw new Error(`${where}: bad label name ${lname}`);
    labels[lname] = value;
    if (s[i] === ',') i++;
    else if (s[i] !== '}') throw new Error(`${where}: expected , or } after label ${lname}`);
  }
}

export function parsePromText(text: string): Map<string, PromFamily> {
  if (!text.endsWith('\n')) throw new Error('exposition does not end with a newline');
  const families = new Map<string, PromFamily>();
  const seen = new Set<string>();
  const closed = new Set<string>();
  let current: PromFamily | undefined;
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((line, n) => {
    const where = `line ${n + 1}`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest = ''] = m as unknown as [string, string, string, string?];
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name ${name}`);
      let f = families.get(name);
      if (f && closed.has(name)) throw new Error(`${where}: ${name} declared after its samples`);
      if (!f) {
        f = { name, type: 'untyped', samples: [] };
        families.set(name, f);
      }
      if (current && current !== f) closed.add(current.name);
      current = f;
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new Error(`${where}: HELP twice for ${name}`);
        f.help = unescapeHelp(rest, where);
      } else {
        if (!TYPES.has(rest)) throw new Error(`${where}: bad type ${rest}`);
        if (f.samples.length > 0) throw new Error(`${where}: TYPE of ${name} after samples`);
        if ((f as { typed?: boolean }).typed) throw new Error(`${where}: TYPE twice for ${name}`);
        (f as { typed?: boolean }).typed = true;
        f.type = rest as PromType;
      }
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (!m) throw new Error(`${where}: bad sample ${JSON.stringify(line)}`);
    const name = m[1]!;
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      const [l, end] = parseLabels(rest.slice(1), where);
      labels = l;
      rest = rest.slice(1 + end);
    }
    const parts = rest.split(' ');
    if (parts[0] !== '' || parts.length < 2 || parts.length > 3)
      throw new Error(`${where}: bad sample ${JSON.stringify(line)}`);
    const value = parseValue(parts[1]!, where);
    if (parts.length === 3 && !/^-?\d+$/.test(parts[2]!))
      throw new Error(`${where}: bad timestamp ${parts[2]}`);
    let f = familyOf(name, families);
    if (!f) {
      f = { name, type: 'untyped', samples: [] };
      families.set(name, f);
    }
    if (closed.has(f.name)) throw new Error(`${where}: samples of ${f.name} are not grouped`);
    if (current && current !== f) closed.add(current.name);
    current = f;
    const key = `${name}{${Object.keys(labels)
      .sort()
      .map((k) => `${k}=${JSON.stringify(labels[k])}`)
      .join(',')}}`;
    if (seen.has(key)) throw new Error(`${where}: duplicate series ${key}`);
    seen.add(key);
    if (f.type === 'histogram' && name === `${f.name}_bucket` && labels.le === undefined)
      throw new Error(`${where}: bucket without le`);
    if (f.type === 'histogram' && name === f.name)
      throw new Error(`${where}: histogram sample without _bucket/_sum/_count suffix`);
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: PromFamily): void {
  const groups = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { buckets: [] }));
    if (s.name.endsWith('_bucket')) g.buckets.push([parseValue(le!, f.name), s.value]);
    else if (s.name.endsWith('_sum')) g.sum = s.value;
    else g.count = s.value;
  }
  for (const [key, g] of groups) {
    const where = `${f.name}${key}`;
    if (g.sum === undefined || g.count === undefined)
      throw new Error(`${where}: histogram without _sum or _count`);
    const b = g.buckets;
    if (b.length === 0 || b[b.length - 1]![0] !== Infinity)
      throw new Error(`${where}: histogram without le="+Inf"`);
    for (let i = 1; i < b.length; i++) {
      if (!(b[i]![0] > b[i - 1]![0])) throw new Error(`${where}: le not ascending`);
      if (!(b[i]![1] >= b[i - 1]![1])) throw new Error(`${where}: buckets not cumulative`);
    }
    if (b[b.length - 1]![1] !== g.count) throw new Error(`${where}: +Inf bucket != _count`);
  }
}

/** The one sample of `name` whose labels include `labels`; throws when none or several. */
export function sampleOf(
  families: Map<string, PromFamily>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const hits: PromSample[] = [];
  for (const f of families.values())
    for (const s of f.samples)
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        hits.push(s);
  if (hits.length !== 1)
    throw new Error(`${hits.length} samples of ${name} ${JSON.stringify(labels)}`);
  return hits[0]!.value;
}
