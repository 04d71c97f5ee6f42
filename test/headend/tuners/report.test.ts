// What the headend says of its tuners: the reports (tuners/report.ts) built from the config
// and the sources' status, the headend_tuner_* series a scrape renders from them, and the
// TUNER table of `headend status`. No sockets.
import t from 'tap';
import { formatStatus } from '../../../src/headend/commands/status.js';
import { createMetrics } from '../../../src/headend/metrics/index.js';
import { tunerReports } from '../../../src/headend/tuners/report.js';
import type { TunerSpec } from '../../../src/headend/tuners/types.js';
import { parsePromText } from '../../helpers/prom-text.js';

const TUNERS: TunerSpec[] = [
  {
    id: 'astra',
    kind: 'dvb',
    adapter: 0,
    frontend: 1,
    tuning: { delivery: 'dvbs2', frequencyHz: 11_494_000_000, polarization: 'h', symbolRate: 22e6 },
    tuneTimeoutMs: 10_000,
    devices: '/dev/dvb',
    zap: 'dvbv5-zap',
  },
  { id: 'hdhr', kind: 'hdhomerun', device: '1010CAFE', channel: '5.1', port: 5004 },
  {
    id: 'spare',
    kind: 'satip',
    host: '10.0.0.9',
    port: 554,
    src: 1,
    transport: 'udp',
    tuning: { delivery: 'dvbt2', frequencyHz: 474e6 },
    tuneTimeoutMs: 10_000,
  },
];
const CHANNELS = [
  { number: 101, sources: [{ tuner: { id: 'astra' } }, {}] },
  { number: 102, sources: [{}, { tuner: { id: 'astra' } }] },
  { number: 103, sources: [{ tuner: { id: 'hdhr' } }] },
];

const reports = tunerReports(TUNERS, CHANNELS, (id) =>
  id === 'astra'
    ? {
        state: 'running',
        restarts: 2,
        bytes: 1,
        since: 0,
        tuner: {
          lock: true,
          signal: { value: -41.5, unit: 'dBm' },
          snr: { value: 13.2, unit: 'dB' },
          ber: 2.1e-6,
          uncorrected: 3,
          at: 5,
        },
      }
    : id === 'hdhr'
      ? {
          state: 'backoff',
          restarts: 4,
          bytes: 0,
          since: 0,
          lastError: 'tuner: HDHomeRun 1010CAFE busy (503 805 All Tuners In Use)',
        }
      : undefined,
);

t.test('reports: target, state, channels, reading', async (t) => {
  t.same(reports[0], {
    id: 'astra',
    kind: 'dvb',
    target: 'adapter0/frontend1 11494 MHz H dvbs2',
    state: 'running',
    channels: [101, 102],
    restarts: 2,
    lock: true,
    signal: { value: -41.5, unit: 'dBm' },
    snr: { value: 13.2, unit: 'dB' },
    ber: 2.1e-6,
    uncorrected: 3,
    at: 5,
  });
  t.match(reports[1], { target: 'hdhomerun 1010CAFE 5.1', state: 'backoff', channels: [103] });
  t.match(reports[2], { target: 'satip 10.0.0.9 474 MHz dvbt2', state: 'idle', channels: [] });
});

t.test('headend_tuner_* series', async (t) => {
  const m = createMetrics({
    channels: () => [],
    pacing: () => [],
    ffmpegChildren: () => [],
    tuners: () => reports,
    defaultMetrics: false,
  });
  const fams = parsePromText(await m.render());
  const value = (name: string, tuner: string): number | undefined =>
    fams.get(name)?.samples.find((s) => s.labels.tuner === tuner)?.value;
  t.equal(value('headend_tuner_lock', 'astra'), 1);
  t.equal(value('headend_tuner_signal_dbm', 'astra'), -41.5);
  t.equal(value('headend_tuner_snr_db', 'astra'), 13.2);
  t.equal(value('headend_tuner_ber', 'astra'), 2.1e-6);
  t.equal(value('headend_tuner_uncorrected_blocks', 'astra'), 3);
  t.equal(value('headend_tuner_up', 'astra'), 1);
  t.equal(value('headend_tuner_up', 'hdhr'), 0);
  t.equal(value('headend_tuner_channels', 'astra'), 2);
  t.equal(value('headend_tuner_restarts_total', 'hdhr'), 4);
  t.equal(value('headend_tuner_lock', 'hdhr'), undefined, 'no reading: no lock series');
  t.equal(value('headend_tuner_signal_percent', 'astra'), undefined, 'dBm, not %');
  t.match(fams.get('headend_tuner_info')?.samples.find((s) => s.labels.tuner === 'spare')?.labels, {
    kind: 'satip',
    target: 'satip 10.0.0.9 474 MHz dvbt2',
  });
});

t.test('headend status: a TUNER table after the channels', async (t) => {
  const text = formatStatus({
    headend: { name: 'Hotel', version: '0.1.0', uptimeSec: 65 },
    channels: [],
    tuners: reports,
  });
  const lines = text.split('\n');
  const head = lines.findIndex((l) => l.startsWith('TUNER'));
  t.ok(head > 0, 'a tuner table');
  t.match(
    lines[head + 1],
    /^astra +adapter0\/frontend1 11494 MHz H dvbs2 +running +yes +-41\.5dBm +13\.2dB +2\.1e-6 +3 +101,102 +-$/,
  );
  t.match(
    lines[head + 2],
    /^hdhr +hdhomerun 1010CAFE 5\.1 +backoff +- +- +- +- +- +103 +tuner: HDHomeRun 1010CAFE busy/,
  );
  t.match(lines[head + 3], /^spare .* idle .* -$/);
});
