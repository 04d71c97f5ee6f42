// The operator surfaces of a running daemon, end to end (issues 4 and 5): /metrics parses as
// the Prometheus text format and its counters move as the streams flow; /api/channels,
// /healthz and /playlist.m3u answer from the live channels; `headend status` and
// `headend reload` talk to it over HTTP; SAP announces every channel and sends deletions when
// the daemon stops. It runs with a real-time pacing thread (headend.pacing) where this process
// may, and checks that the daemon says whether it got one.
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { execFile, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { release } from 'node:os';
import { accessSync, constants, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { CLI, sleep, startDaemon, stopAndCheck, type LogEvent } from './helpers.js';
import { parsePromText, sampleOf } from '../helpers/prom-text.js';
import { decodeSap, type SapMessage } from '../../src/headend/sap/packet.js';
import { pacerThreadTid } from '../../bench/proc-stats.js';

const HTTP = 18280;
const URL_BASE = `http://127.0.0.1:${HTTP}`;

const config = (secondName: string): string => `
headend:
  name: Ops Test
  interface: 127.0.0.1
  http: { listen: 127.0.0.1:${HTTP} }
  rtsp: false
  sap: { address: 239.255.255.255, ttl: 1 }
  pacing: { realtime_priority: 10, cpu_dma_latency: 0 }
channels:
  - number: 31
    name: Ops One
    output: udp://239.255.31.1:5031
    bitrate: 800k
    source: { test: { pattern: smpte, resolution: 320x180, rate: 15, bitrate: 200k, text: ops1 } }
  - number: 32
    name: ${secondName}
    output: rtp://239.255.31.2:5032
    source: { test: { pattern: testsrc, resolution: 320x180, rate: 15, bitrate: 200k, text: ops2 } }
`;

function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 20_000 }, (err, out, errOut) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out, err: errOut }),
    );
  });
}

t.test('metrics, API, status, reload and SAP of a running daemon', async (t) => {
  t.setTimeout(120_000);
  // SAP: listen before the daemon starts, so its first round is seen.
  const sap: SapMessage[] = [];
  const rx = createSocket({ type: 'udp4', reuseAddr: true });
  rx.on('message', (m) => {
    const d = decodeSap(m);
    if (typeof d !== 'string') sap.push(d);
  });
  await new Promise<void>((r) => rx.bind(9875, '239.255.255.255', r));
  rx.addMembership('239.255.255.255', '127.0.0.1');
  t.teardown(() => rx.close());

  const d = startDaemon(t, { text: config('Ops Two') });
  const isUp = (n: number) => (e: LogEvent) =>
    e.event === 'source-up' && String(e.channel).startsWith(`${n} `);
  await d.waitFor(isUp(31), 20_000);
  await d.waitFor(isUp(32), 20_000);
  await sleep(1500);

  // /metrics, twice: valid exposition, counters moving.
  const scrape = async () => parsePromText(await (await fetch(`${URL_BASE}/metrics`)).text());
  const m1 = await scrape();
  await sleep(2000);
  const m2 = await scrape();
  const one = { channel: '31', name: 'Ops One' };
  const sent1 = sampleOf(m1, 'headend_channel_datagrams_sent_total', one);
  const sent2 = sampleOf(m2, 'headend_channel_datagrams_sent_total', one);
  t.ok(sent2 > sent1, `datagrams sent move: ${sent1} → ${sent2}`);
  const pk1 = sampleOf(m1, 'headend_channel_output_packets_total', one);
  t.ok(sampleOf(m2, 'headend_channel_output_packets_total', one) > pk1, 'output packets move');
  t.equal(sampleOf(m2, 'headend_channel_source_state', { ...one, state: 'running' }), 1);
  t.ok(sampleOf(m2, 'headend_channel_pacing_lateness_seconds_count', one) >= sent1, 'lateness');
  t.ok(
    sampleOf(m2, 'headend_channel_psi_interval_seconds_count', { ...one, table: 'pat' }) > 10,
    'PAT intervals observed',
  );
  t.ok(sampleOf(m2, 'headend_channel_pcr_interval_seconds_count', one) > 10, 'PCR intervals');
  t.equal(
    sampleOf(m2, 'headend_channel_pcr_interval_seconds_bucket', { ...one, le: '0.04' }),
    sampleOf(m2, 'headend_channel_pcr_interval_seconds_count', one),
    'every output PCR interval ≤ 40 ms',
  );
  t.ok(sampleOf(m2, 'headend_ffmpeg_children', {}) >= 2, 'ffmpeg children counted');
  // Only some metrics (?name=, repeated): those families alone; an unknown name is a 404.
  const asked = ['headend_pacer_late_max_seconds', 'headend_channel_datagrams_sent_total'];
  const few = await fetch(`${URL_BASE}/metrics?${asked.map((n) => `name=${n}`).join('&')}`);
  t.equal(few.status, 200);
  const fewMetrics = parsePromText(await few.text());
  t.same([...fewMetrics.keys()].sort(), [...asked].sort(), '?name=: only those families');
  t.ok(sampleOf(fewMetrics, 'headend_channel_datagrams_sent_total', one) >= sent2, 'current');
  const unknown = await fetch(`${URL_BASE}/metrics?name=headend_no_such_metric`);
  t.equal(unknown.status, 404);
  t.match(await unknown.text(), /no metric named headend_no_such_metric/);

  // headend.pacing: the daemon tells whether its pacing thread became real-time, and whether
  // it holds the CPU latency request; both depend on what this process is allowed.
  const mayRealtime = spawnSync('chrt', ['-f', '1', 'true']).status === 0;
  const rt = await d.waitFor((e) => e.event.startsWith('pacer-realtime'), 5000);
  t.equal(rt.event, mayRealtime ? 'pacer-realtime' : 'pacer-realtime-failed', rt.event);
  t.equal(sampleOf(m2, 'headend_pacer_realtime', {}), mayRealtime ? 1 : 0, 'realtime gauge');
  // The pacing thread names itself: its tid, the mode (the default), its 1 µs timer slack.
  const th = await d.waitFor((e) => e.event === 'pacer-thread', 5000);
  t.equal(th.mode, 'balanced', 'default pacing mode');
  t.equal(th.timerSlackNs, 1000, 'timer slack lowered');
  t.ok(Number(th.tid) > 0, `the pacing thread's tid ${th.tid}`);
  const { atNs: _at, ...line } = th;
  t.equal(pacerThreadTid(JSON.stringify(line)), Number(th.tid), 'bench/modes finds it in the log');
  // ... and its nice value (headend.pacing.nice, −10 by default), as the kernel has it
  // (/proc/<pid>/task/<tid>/stat field 19); refused without the privilege, with a warning.
  const stat = readFileSync(`/proc/${d.proc.pid}/task/${th.tid}/stat`, 'utf8');
  const kernelNice = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19 - 3]);
  t.equal(th.nice, kernelNice, `the nice value logged is the thread's: ${kernelNice}`);
  if (process.getuid?.() === 0) t.equal(kernelNice, -10, 'root: the pacing thread at nice −10');
  else await d.waitFor((e) => e.event === 'pacer-nice-failed', 5000);
  // ... and its EEVDF slice, 0.2 ms (it preempts longer-slice threads when it wakes), as the
  // kernel read it back when asked (Linux 6.12 and later). It was asked before the thread
  // became real-time (as here where allowed); /proc shows se.slice of a thread still fair.
  t.equal(th.sliceNs, 200_000, 'the pacing thread asked for a 0.2 ms slice');
  const sched = readFileSync(`/proc/${d.proc.pid}/task/${th.tid}/sched`, 'utf8');
  const kernelSlice = /^se\.slice\s*:\s*(\d+)/m.exec(sched);
  if (kernelSlice) t.equal(Number(kernelSlice[1]), 200_000, "the kernel's slice for it");
  else t.comment(`no se.slice in /proc (${release()}, real-time: ${mayRealtime})`);
  // Threads named for top -H and ps -L: the pacing thread, and each channel worker by number.
  t.equal(th.name, 'headend-pacer');
  const comm = (tid: string) => readFileSync(`/proc/${d.proc.pid}/task/${tid}/comm`, 'utf8').trim();
  t.equal(comm(String(th.tid)), 'headend-pacer', 'as ps -L shows it');
  const threads = readdirSync(`/proc/${d.proc.pid}/task`).map(comm);
  const lanes = threads.filter((n) => n.startsWith('headend-lane')).sort();
  t.same(
    lanes,
    lanes.map((_, i) => `headend-lane${i}`),
    `channel workers: ${lanes.join(', ')}`,
  );
  t.equal(threads.filter((n) => n === 'headend-pacer').length, Math.max(1, lanes.length));
  let mayHoldLatency = true;
  try {
    accessSync('/dev/cpu_dma_latency', constants.W_OK);
  } catch {
    mayHoldLatency = false;
  }
  const lat = await d.waitFor((e) => e.event.startsWith('cpu-latency'), 5000);
  t.equal(lat.event, mayHoldLatency ? 'cpu-latency' : 'cpu-latency-failed', lat.event);
  t.ok(m2.has('headend_process_cpu_seconds_total'), 'prom-client defaults, prefixed');

  // JSON API and health.
  const api = (await (await fetch(`${URL_BASE}/api/channels`)).json()) as {
    headend: { name: string };
    channels: { number: number; state: string; analyzer?: Record<string, number> }[];
  };
  t.equal(api.headend.name, 'Ops Test');
  t.same(
    api.channels.map((c) => [c.number, c.state]),
    [
      [31, 'running'],
      [32, 'running'],
    ],
  );
  t.equal(api.channels[0].analyzer?.priority1Errors, 0, 'output analyzer: no priority-1 error');
  t.ok((api.channels[0].analyzer?.packets ?? 0) > 0, 'output analyzer counts packets');
  t.equal((await fetch(`${URL_BASE}/healthz`)).status, 200, '/healthz 200');
  const m3u = await (await fetch(`${URL_BASE}/playlist.m3u`)).text();
  t.match(m3u, /tvg-chno="31"[^\n]*,Ops One\nudp:\/\/@239\.255\.31\.1:5031/);

  // headend status over HTTP.
  const st = await cli(['status', '--url', URL_BASE]);
  t.equal(st.code, 0, 'headend status exits 0');
  t.match(st.out, /31\s+Ops One\s+running/);
  t.match(st.out, /32\s+Ops Two\s+running/);

  // SAP: both channels announced by name.
  const names = (ms: SapMessage[]) =>
    ms.filter((m) => !m.deletion).map((m) => /\ns=(.*)\r\n/.exec(m.payload)?.[1]);
  t.ok(
    names(sap).includes('Ops One') && names(sap).includes('Ops Two'),
    `SAP: ${names(sap).join(', ')}`,
  );

  // headend reload: a rename is applied in place; SAP re-announces.
  writeFileSync(d.configFile, config('Ops Renamed'));
  const before = sap.length;
  const rl = await cli(['reload', '--url', URL_BASE, '--json']);
  t.equal(rl.code, 0, `headend reload exits 0 ${rl.err}`);
  const result = JSON.parse(rl.out) as { ok: boolean; updated: string[] };
  t.equal(result.ok, true);
  t.same(result.updated, ['ops-renamed'], 'the renamed channel updated in place');
  await sleep(500);
  t.ok(
    sap.slice(before).some((m) => m.deletion) && names(sap.slice(before)).includes('Ops Renamed'),
    'SAP: deletion of the old description, announcement of the new',
  );
  // An invalid file is refused, over HTTP too.
  writeFileSync(
    d.configFile,
    readFileSync(d.configFile, 'utf8').replace('number: 31', 'number: x'),
  );
  const bad = await cli(['reload', '--url', URL_BASE]);
  t.equal(bad.code, 1, 'an invalid reload exits 1');
  t.match(bad.out + bad.err, /channels\.yaml:\d+:\d+/, 'with file:line:column');

  const atStop = sap.length;
  await stopAndCheck(t, d, ['ops1', 'ops2']);
  await sleep(300);
  t.ok(
    sap.slice(atStop).filter((m) => m.deletion).length >= 2,
    'SAP deletions for every channel on stop',
  );
});
