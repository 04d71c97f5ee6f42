// grafana/headend-dashboard.json and prometheus/headend-alerts.yml: both parse, have the
// expected structure, and every headend_* name their queries use is one a rendered /metrics
// exposes (histogram queries through their _bucket/_sum/_count series). No sockets.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { createMetrics } from '../../../src/headend/metrics/index.js';
import { parsePromText } from '../../helpers/prom-text.js';
import { channels, pacerStats } from './fixtures.js';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

async function exposedNames(): Promise<Set<string>> {
  const m = createMetrics({
    channels,
    pacing: () => (pacerStats ? [{ stats: pacerStats }] : []),
    ffmpegChildren: () => [process.pid],
    // A cluster member, so that each headend_cluster_* series exists.
    cluster: () => ({
      node: 'a',
      state: 'member',
      lease: { id: '1', ttl_ms: 5000, since_keepalive_ms: 100 },
      hash: 'h',
      cluster_hash: 'h',
      nodes: [
        { name: 'a', lease: '1', hash: 'h', agrees: true, capacity: 1, channels: 2, bitrate: 8e6 },
      ],
      owners: { news: 'a', sport: 'a' },
      unowned: [],
      handback: 'after 60 s quiet',
      fences: 0,
      joins: 1,
      takeovers: 0,
    }),
    // An alert configured (and on), so that each headend_alert_* series exists.
    alerts: () => ({ zones: ['*'], channels: 2, changes: new Map([['serial', 1]]) }),
    // Two locked tuners (dB and % scales), so that each headend_tuner_* series exists.
    tuners: () => [
      {
        id: 'sat',
        kind: 'dvb',
        target: 'adapter0/frontend0 11494 MHz H dvbs2',
        state: 'running',
        channels: [1],
        restarts: 0,
        lock: true,
        signal: { value: -40, unit: 'dBm' },
        snr: { value: 12, unit: 'dB' },
        ber: 0,
        uncorrected: 0,
        at: 0,
      },
      {
        id: 'hdhr',
        kind: 'hdhomerun',
        target: 'hdhomerun 1010CAFE 5.1',
        state: 'running',
        channels: [2],
        restarts: 0,
        lock: true,
        signal: { value: 80, unit: '%' },
        snr: { value: 70, unit: '%' },
        at: 0,
      },
    ],
  });
  const names = new Set<string>();
  for (const f of parsePromText(await m.render()).values())
    for (const s of f.samples) names.add(s.name);
  return names;
}

const referenced = (expr: string): string[] => expr.match(/\bheadend_[a-zA-Z0-9_]+/g) ?? [];

/** Balanced (), {} and [] outside quoted strings: catches a truncated query. */
function balanced(expr: string): boolean {
  const open = '({[';
  const close = ')}]';
  const stack: string[] = [];
  let quote: string | null = null;
  for (const c of expr) {
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (open.includes(c)) stack.push(c);
    else if (close.includes(c) && stack.pop() !== open[close.indexOf(c)]) return false;
  }
  return stack.length === 0 && quote === null;
}

interface Panel {
  type: string;
  title: string;
  id: number;
  targets?: { expr: string; refId: string }[];
  gridPos: { x: number; y: number; w: number; h: number };
}

t.test('the Grafana dashboard', async (t) => {
  const names = await exposedNames();
  const dash = JSON.parse(readFileSync(join(REPO, 'grafana/headend-dashboard.json'), 'utf8')) as {
    title: string;
    uid: string;
    panels: Panel[];
    templating: { list: { name: string; query: { query: string } }[] };
  };
  t.equal(dash.title, 'headend');
  const ids = dash.panels.map((p) => p.id);
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  const queries = dash.panels.flatMap((p) => (p.targets ?? []).map((q) => [p.title, q.expr]));
  queries.push(...dash.templating.list.map((v) => [`$${v.name}`, v.query.query]));
  t.ok(queries.length >= 20, `${queries.length} queries`);
  const used = new Set<string>();
  for (const [title, expr] of queries) {
    t.ok(balanced(expr!), `${title}: balanced brackets`);
    const refs = referenced(expr!);
    t.ok(refs.length > 0, `${title}: uses a headend metric`);
    for (const name of refs) {
      used.add(name);
      t.ok(names.has(name), `${title}: ${name} is exposed`);
    }
  }
  for (const p of dash.panels) {
    t.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title} fits the 24-column grid`);
    if (p.type !== 'row') t.ok((p.targets ?? []).length > 0, `${p.title} has a query`);
  }
  // The panels the issue asks for.
  for (const name of [
    'headend_channel_output_bitrate_bits',
    'headend_channel_source_state',
    'headend_channel_failovers_total',
    'headend_channel_input_cc_errors_total',
    'headend_channel_pacing_lateness_seconds_bucket',
    'headend_channel_psi_interval_seconds_bucket',
    'headend_channel_pcr_interval_seconds_bucket',
    'headend_channel_rtsp_sessions',
    'headend_process_cpu_seconds_total',
    'headend_process_resident_memory_bytes',
    'headend_ffmpeg_cpu_seconds_total',
  ])
    t.ok(used.has(name), `a panel shows ${name}`);
  t.ok(
    queries.some(([, e]) => /histogram_quantile\(0\.99,.*pacing_lateness_seconds_bucket/.test(e!)),
    'pacing lateness p99 from the histogram',
  );
});

t.test('the Prometheus alert rules', async (t) => {
  const names = await exposedNames();
  const doc = parse(readFileSync(join(REPO, 'prometheus/headend-alerts.yml'), 'utf8')) as {
    groups: {
      name: string;
      rules: {
        alert: string;
        expr: string;
        for?: string;
        labels: Record<string, string>;
        annotations: Record<string, string>;
      }[];
    }[];
  };
  t.equal(doc.groups.length, 1);
  const rules = doc.groups[0]!.rules;
  const alerts = rules.map((r) => r.alert);
  for (const a of [
    'HeadendChannelDown',
    'HeadendChannelOnBackup',
    'HeadendPacingLate',
    'HeadendInputCcErrors',
    'HeadendEmergencyAlertOn',
  ])
    t.ok(alerts.includes(a), `alert ${a}`);
  t.equal(new Set(alerts).size, alerts.length, 'alert names are unique');
  for (const r of rules) {
    t.match(r.alert, /^[A-Z][A-Za-z]+$/);
    t.ok(balanced(r.expr), `${r.alert}: balanced brackets`);
    if (r.for !== undefined) t.match(r.for, /^\d+[smh]$/, `${r.alert}: for is a duration`);
    t.ok(['critical', 'warning'].includes(r.labels.severity!), `${r.alert}: severity`);
    t.ok(r.annotations.summary && r.annotations.description, `${r.alert}: summary, description`);
    const refs = referenced(r.expr);
    t.ok(refs.length > 0, `${r.alert} uses a headend metric`);
    for (const name of refs) t.ok(names.has(name), `${r.alert}: ${name} is exposed`);
  }
});
