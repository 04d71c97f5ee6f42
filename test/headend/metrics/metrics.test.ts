// /metrics exposition: rendered from fake readers, parsed with a strict text-format parser
// (test/helpers/prom-text.ts), checked for names, labels, types and HELP, and for counters that
// move when their inputs move. No sockets.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMetrics, CHANNEL_STATES } from '../../../src/headend/metrics/index.js';
import type { ChannelMetricsInput } from '../../../src/headend/metrics/index.js';
import { createLogger } from '../../../src/headend/log.js';
import { parsePromText, sampleOf } from '../../helpers/prom-text.js';
import { channels, fakeProc, hist, pacerStats } from './fixtures.js';

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'headend-metrics-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const EXPECTED: Record<string, string> = {
  headend_channel_output_bitrate_bits: 'gauge',
  headend_channel_output_packets_total: 'counter',
  headend_channel_datagrams_sent_total: 'counter',
  headend_channel_datagrams_dropped_total: 'counter',
  headend_channel_source_state: 'gauge',
  headend_channel_source_index: 'gauge',
  headend_channel_source_up_seconds: 'gauge',
  headend_channel_source_restarts_total: 'counter',
  headend_channel_failovers_total: 'counter',
  headend_channel_input_cc_errors_total: 'counter',
  headend_channel_input_skipped_bytes_total: 'counter',
  headend_channel_timestamp_splices_total: 'counter',
  headend_channel_decode_delay_seconds: 'gauge',
  headend_channel_decode_delay_raises_total: 'counter',
  headend_channel_clock_skew_ppm: 'gauge',
  headend_channel_clock_chases_total: 'counter',
  headend_channel_pacing_lateness_seconds: 'histogram',
  headend_channel_psi_interval_seconds: 'histogram',
  headend_channel_pcr_interval_seconds: 'histogram',
  headend_channel_rtsp_sessions: 'gauge',
  headend_pacer_utilization_ratio: 'gauge',
  headend_pacer_late_max_seconds: 'gauge',
  headend_pacer_late_own_max_seconds: 'gauge',
  headend_pacer_preempted_max_seconds: 'gauge',
  headend_pacer_oversleep_max_seconds: 'gauge',
  headend_pacer_gc_pauses_total: 'counter',
  headend_pacer_gc_pause_max_seconds: 'gauge',
  headend_pacer_channels: 'gauge',
  headend_pacer_grid: 'gauge',
  headend_ffmpeg_children: 'gauge',
  headend_ffmpeg_cpu_seconds_total: 'counter',
  // prom-client defaults, prefixed
  headend_process_cpu_seconds_total: 'counter',
  headend_process_resident_memory_bytes: 'gauge',
  headend_nodejs_eventloop_lag_seconds: 'gauge',
  headend_nodejs_eventloop_lag_p99_seconds: 'gauge',
};

t.test('every metric: name, type, HELP, labels, values', async (t) => {
  const proc = tempDir();
  fakeProc(proc, { 4242: [150, 50], 4343: [10, 0] });
  const m = createMetrics({
    channels,
    pacing: () => (pacerStats ? [{ stats: pacerStats }] : []),
    ffmpegChildren: () => [4242, 4343],
    now: () => 1_060_000,
    procRoot: proc,
  });
  t.match(m.contentType, /^text\/plain; version=0\.0\.4/);
  const fams = parsePromText(await m.render());
  for (const [name, type] of Object.entries(EXPECTED)) {
    const f = fams.get(name);
    t.ok(f, `${name} is exposed`);
    t.equal(f?.type, type, `${name} is a ${type}`);
    t.ok(f?.help && f.help.length > 10, `${name} has a HELP text`);
  }
  for (const name of fams.keys()) t.match(name, /^headend_/, `${name} is prefixed headend_`);

  const news = { channel: '101', name: 'News "One"\\HD' };
  const sport = { channel: '102', name: 'Sport' };
  t.equal(sampleOf(fams, 'headend_channel_output_bitrate_bits', news), 1_500_000);
  t.equal(sampleOf(fams, 'headend_channel_output_packets_total', news), 7000);
  t.equal(sampleOf(fams, 'headend_channel_input_cc_errors_total', news), 2);
  t.equal(sampleOf(fams, 'headend_channel_input_skipped_bytes_total', news), 188);
  t.equal(sampleOf(fams, 'headend_channel_timestamp_splices_total', news), 1);
  t.equal(sampleOf(fams, 'headend_channel_decode_delay_seconds', news), 0.2845);
  t.equal(sampleOf(fams, 'headend_channel_decode_delay_raises_total', news), 2);
  t.equal(sampleOf(fams, 'headend_channel_clock_skew_ppm', news), -1.5);
  t.equal(sampleOf(fams, 'headend_channel_clock_chases_total', news), 1);
  t.equal(sampleOf(fams, 'headend_channel_failovers_total', sport), 3);
  t.equal(sampleOf(fams, 'headend_channel_source_restarts_total', sport), 4);
  t.equal(sampleOf(fams, 'headend_channel_source_index', sport), 1);
  t.equal(sampleOf(fams, 'headend_channel_source_up_seconds', news), 60);
  t.equal(sampleOf(fams, 'headend_channel_source_up_seconds', sport), 0, 'no source up: 0');
  t.equal(sampleOf(fams, 'headend_pacer_grid', {}), 1, 'the pacing thread on the 1 ms grid');
  t.equal(sampleOf(fams, 'headend_pacer_gc_pauses_total', {}), 7);
  t.equal(sampleOf(fams, 'headend_pacer_gc_pause_max_seconds', {}), 0.0003);

  // The state enum: one series per state, 1 on the current one only.
  const states = fams.get('headend_channel_source_state')!.samples;
  for (const [labels, current] of [
    [news, 'running'],
    [sport, 'failover'],
  ] as const) {
    const mine = states.filter((s) => s.labels.channel === labels.channel);
    t.same(mine.map((s) => s.labels.state).sort(), [...CHANNEL_STATES].sort());
    t.same(
      mine.filter((s) => s.value === 1).map((s) => s.labels.state),
      [current],
    );
    t.equal(mine.filter((s) => s.value === 0).length, CHANNEL_STATES.length - 1);
  }

  // Histograms: externally accumulated buckets, exposed as they are.
  const late = { ...news };
  t.equal(
    sampleOf(fams, 'headend_channel_pacing_lateness_seconds_bucket', { ...late, le: '0.001' }),
    90,
  );
  t.equal(
    sampleOf(fams, 'headend_channel_pacing_lateness_seconds_bucket', { ...late, le: '0.1' }),
    100,
  );
  t.equal(
    sampleOf(fams, 'headend_channel_pacing_lateness_seconds_bucket', { ...late, le: '+Inf' }),
    100,
  );
  t.equal(sampleOf(fams, 'headend_channel_pacing_lateness_seconds_sum', late), 0.05);
  t.equal(sampleOf(fams, 'headend_channel_pacing_lateness_seconds_count', late), 100);
  t.equal(
    sampleOf(fams, 'headend_channel_psi_interval_seconds_count', { ...news, table: 'pmt' }),
    10,
  );
  t.equal(
    sampleOf(fams, 'headend_channel_psi_interval_seconds_bucket', {
      ...news,
      table: 'pmt',
      le: '0.1',
    }),
    9,
  );
  t.equal(
    sampleOf(fams, 'headend_channel_pcr_interval_seconds_bucket', { ...news, le: '0.01' }),
    40,
  );
  t.notOk(
    fams
      .get('headend_channel_pcr_interval_seconds')!
      .samples.some((s) => s.labels.channel === '102'),
    'a channel without the histogram has no series',
  );

  t.equal(sampleOf(fams, 'headend_channel_rtsp_sessions', { ...news, transport: 'udp' }), 2);
  t.equal(sampleOf(fams, 'headend_channel_rtsp_sessions', { ...news, transport: 'tcp' }), 1);
  t.equal(sampleOf(fams, 'headend_channel_rtsp_sessions', { ...news, transport: 'multicast' }), 0);

  t.equal(sampleOf(fams, 'headend_pacer_utilization_ratio'), 0.25, 'spinNs / periodNs');
  t.equal(sampleOf(fams, 'headend_pacer_late_max_seconds'), 0.00025);
  t.equal(sampleOf(fams, 'headend_pacer_late_own_max_seconds'), 0.00004);
  t.equal(sampleOf(fams, 'headend_pacer_preempted_max_seconds'), 0.0015);
  t.equal(sampleOf(fams, 'headend_pacer_channels'), 2);
  t.equal(sampleOf(fams, 'headend_ffmpeg_children'), 2);
  t.equal(sampleOf(fams, 'headend_ffmpeg_cpu_seconds_total'), 2.1, '(150+50+10) ticks / 100');
});

t.test('counters move when their inputs move; ffmpeg CPU never goes down', async (t) => {
  const proc = tempDir();
  fakeProc(proc, { 500: [100, 0], 501: [50, 50] });
  let pids = [500, 501];
  const list = channels();
  const news = list[0]!;
  const m = createMetrics({
    channels: () => list,
    pacing: () => [],
    ffmpegChildren: () => pids,
    procRoot: proc,
    defaultMetrics: false,
  });
  const before = parsePromText(await m.render());
  t.notOk(
    before.get('headend_pacer_utilization_ratio')?.samples.length,
    'no pacer report: no series',
  );
  t.equal(before.has('headend_process_cpu_seconds_total'), false, 'defaults off');
  const l = { channel: '101' };
  t.equal(sampleOf(before, 'headend_channel_datagrams_sent_total', l), 1000);
  t.equal(sampleOf(before, 'headend_ffmpeg_cpu_seconds_total'), 2);

  news.status = {
    ...news.status,
    datagramsSent: 1700,
    failovers: 1,
    state: 'down',
    remux: { ...news.status.remux, inputCcErrors: 9, packetsOut: 8000 },
  };
  news.pacingLateness = hist([95, 150, 200], 201, 0.5);
  // 500 ran on; 501 exited (its 1 s stays counted); 502 started.
  fakeProc(proc, { 500: [300, 0], 502: [20, 0] });
  pids = [500, 501, 502];
  const after = parsePromText(await m.render());
  t.equal(sampleOf(after, 'headend_channel_datagrams_sent_total', l), 1700);
  t.equal(sampleOf(after, 'headend_channel_failovers_total', l), 1);
  t.equal(sampleOf(after, 'headend_channel_input_cc_errors_total', l), 9);
  t.equal(sampleOf(after, 'headend_channel_output_packets_total', l), 8000);
  t.equal(sampleOf(after, 'headend_channel_source_state', { ...l, state: 'down' }), 1);
  t.equal(sampleOf(after, 'headend_channel_source_state', { ...l, state: 'running' }), 0);
  t.equal(sampleOf(after, 'headend_channel_pacing_lateness_seconds_count', l), 201);
  t.equal(
    sampleOf(after, 'headend_channel_pacing_lateness_seconds_bucket', { ...l, le: '+Inf' }),
    201,
  );
  // 501's stat is still there in the fake /proc: remove it, as an exit does.
  rmSync(join(proc, '501'), { recursive: true });
  const gone = parsePromText(await m.render());
  t.equal(sampleOf(gone, 'headend_ffmpeg_cpu_seconds_total'), (300 + 100 + 20) / 100);
  pids = [500];
  rmSync(join(proc, '502'), { recursive: true });
  const fewer = parsePromText(await m.render());
  t.equal(sampleOf(fewer, 'headend_ffmpeg_children'), 1);
  t.equal(sampleOf(fewer, 'headend_ffmpeg_cpu_seconds_total'), 4.2, 'exited children stay counted');
});

t.test('real /proc: CPU of a live process', async (t) => {
  const m = createMetrics({
    channels: () => [],
    pacing: () => [],
    ffmpegChildren: () => [process.pid],
    defaultMetrics: false,
  });
  let x = 0;
  for (let i = 0; i < 5e7; i++) x += i; // burn some CPU so there is something to read
  t.ok(x > 0);
  const cpu = sampleOf(parsePromText(await m.render()), 'headend_ffmpeg_cpu_seconds_total');
  const u = process.cpuUsage();
  t.ok(cpu > 0, `read ${cpu} s of CPU from /proc/${process.pid}/stat`);
  t.ok(cpu <= (u.user + u.system) / 1e6 + 0.02, 'no more than the process used');
});

t.test('a malformed histogram is left out and logged once; the rest still renders', async (t) => {
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l), repeatWindowMs: 0 });
  const bad: ChannelMetricsInput[] = channels();
  bad[0]!.pcrInterval = { buckets: [0.01, 0.1], counts: [5, 3], sum: 1, count: 5 };
  const m = createMetrics({
    channels: () => bad,
    pacing: () => [],
    ffmpegChildren: () => [],
    log,
    defaultMetrics: false,
  });
  await m.render();
  const fams = parsePromText(await m.render());
  t.equal(fams.get('headend_channel_pcr_interval_seconds')!.samples.length, 0);
  t.equal(sampleOf(fams, 'headend_channel_pacing_lateness_seconds_count', { channel: '101' }), 100);
  const warned = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(warned.length, 1, 'one warning for two scrapes');
  t.equal(warned[0]!.event, 'metrics-bad-histogram');
  t.match(String(warned[0]!.message), /not cumulative/);
});
