// headend_tuner_* metrics, one series per configured tuner (label `tuner`, its id; `kind`
// on the info series): whether its source runs, the channels on it, restarts, and what its
// front end last reported (lock, signal in dBm or %, C/N in dB or %, BER, uncorrected
// blocks). A reading the driver or server does not give has no series. Read at scrape time.

import type { Metric } from 'prom-client';
import type { TunerReport } from '../tuners/report.js';
import { scrapeMetric, type Sample } from './scrape-metric.js';

type Reader = () => readonly TunerReport[];

function perTuner(
  read: Reader,
  name: string,
  help: string,
  type: 'gauge' | 'counter',
  value: (t: TunerReport) => number | undefined,
): Metric {
  return scrapeMetric({
    name,
    help,
    type,
    collect: () =>
      read().flatMap((t): Sample[] => {
        const v = value(t);
        return v === undefined || !Number.isFinite(v)
          ? []
          : [{ labels: { tuner: t.id }, value: v }];
      }),
  });
}

export function tunerMetrics(read: Reader): Metric[] {
  return [
    scrapeMetric({
      name: 'headend_tuner_info',
      help: 'A configured tuner (value 1): its kind (dvb, satip, hdhomerun) and what it is tuned to.',
      type: 'gauge',
      collect: () =>
        read().map((t) => ({ labels: { tuner: t.id, kind: t.kind, target: t.target }, value: 1 })),
    }),
    perTuner(
      read,
      'headend_tuner_up',
      'Whether the tuner delivers its multiplex now: 1 or 0.',
      'gauge',
      (t) => (t.state === 'running' ? 1 : 0),
    ),
    perTuner(
      read,
      'headend_tuner_channels',
      'Channels whose sources use the tuner.',
      'gauge',
      (t) => t.channels.length,
    ),
    perTuner(
      read,
      'headend_tuner_restarts_total',
      'Times the tuner was opened again after a failure.',
      'counter',
      (t) => t.restarts,
    ),
    perTuner(
      read,
      'headend_tuner_lock',
      'Front-end lock from the last reading: 1 locked, 0 not.',
      'gauge',
      (t) => (t.lock === undefined ? undefined : t.lock ? 1 : 0),
    ),
    perTuner(
      read,
      'headend_tuner_signal_dbm',
      'Signal level, dBm (drivers that report a decibel scale).',
      'gauge',
      (t) => (t.signal?.unit === 'dBm' ? t.signal.value : undefined),
    ),
    perTuner(
      read,
      'headend_tuner_signal_percent',
      'Signal level, percent (drivers and servers that report a relative scale).',
      'gauge',
      (t) => (t.signal?.unit === '%' ? t.signal.value : undefined),
    ),
    perTuner(read, 'headend_tuner_snr_db', 'Carrier to noise ratio, dB.', 'gauge', (t) =>
      t.snr?.unit === 'dB' ? t.snr.value : undefined,
    ),
    perTuner(
      read,
      'headend_tuner_snr_percent',
      'Signal quality, percent (a relative C/N).',
      'gauge',
      (t) => (t.snr?.unit === '%' ? t.snr.value : undefined),
    ),
    perTuner(
      read,
      'headend_tuner_ber',
      'Bit error rate after the inner code (0-1).',
      'gauge',
      (t) => t.ber,
    ),
    perTuner(
      read,
      'headend_tuner_uncorrected_blocks',
      'Uncorrected blocks counted by the front end since the tune.',
      'gauge',
      (t) => t.uncorrected,
    ),
  ];
}
