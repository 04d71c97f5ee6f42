// SAT>IP 1.2.2 §3.5.11/§3.5.12 queries from a TuningSpec, against strings written by hand
// from the spec's attribute table.
import t from 'tap';
import {
  describeTuning,
  pidChangeQuery,
  setupQuery,
  tuningQuery,
} from '../../../../src/headend/tuners/satip/url.js';
import type { TuningSpec } from '../../../../src/headend/tuners/types.js';

const SI = [0, 1, 16, 17, 18, 20];

t.test('satellite, terrestrial and cable queries', async (t) => {
  const cases: [string, TuningSpec, number, readonly number[] | 'all', string][] = [
    [
      'DVB-S2 8PSK',
      {
        delivery: 'dvbs2',
        frequencyHz: 11_494_000_000,
        polarization: 'h',
        symbolRate: 22_000_000,
        modulation: '8psk',
      },
      1,
      SI,
      'src=1&freq=11494&pol=h&msys=dvbs2&sr=22000&mtype=8psk&pids=0,1,16,17,18,20',
    ],
    [
      'DVB-S, a frequency with decimals, no modulation (auto), src 2, every PID',
      { delivery: 'dvbs', frequencyHz: 11_361_750_000, polarization: 'v', symbolRate: 27_500_000 },
      2,
      'all',
      'src=2&freq=11361.75&pol=v&msys=dvbs&sr=27500&pids=all',
    ],
    [
      'DVB-S2 multistream: isi= (not in 1.2; the minisatip/tvheadend extension)',
      {
        delivery: 'dvbs2',
        frequencyHz: 12_000_000_000,
        polarization: 'l',
        symbolRate: 30_000_000,
        modulation: '16apsk',
        plp: 5,
      },
      1,
      [],
      'src=1&freq=12000&pol=l&msys=dvbs2&sr=30000&mtype=16apsk&isi=5&pids=none',
    ],
    [
      'DVB-T2 with PLP',
      { delivery: 'dvbt2', frequencyHz: 506_000_000, bandwidthHz: 8_000_000, plp: 0 },
      1,
      [0, 16],
      'freq=506&bw=8&msys=dvbt2&plp=0&pids=0,16',
    ],
    [
      'DVB-T, 1.712 MHz, 64-QAM, a plp that DVB-T has not',
      {
        delivery: 'dvbt',
        frequencyHz: 474_166_000,
        bandwidthHz: 1_712_000,
        modulation: 'qam64',
        plp: 3,
      },
      1,
      [0],
      'freq=474.166&bw=1.712&msys=dvbt&mtype=64qam&pids=0',
    ],
    [
      'DVB-C 256-QAM',
      { delivery: 'dvbc', frequencyHz: 346_000_000, symbolRate: 6_900_000, modulation: 'qam256' },
      1,
      [0, 17],
      'freq=346&msys=dvbc&sr=6900&mtype=256qam&pids=0,17',
    ],
    [
      'DVB-C, 6875 ksymb/s, modulation auto is left out',
      { delivery: 'dvbc', frequencyHz: 113_000_000, symbolRate: 6_875_000, modulation: 'auto' },
      1,
      'all',
      'freq=113&msys=dvbc&sr=6875&pids=all',
    ],
  ];
  for (const [name, tuning, src, pids, want] of cases) {
    t.equal(setupQuery(tuning, src, pids), want, name);
  }
});

t.test('fec, ro and plts from the tuning, with the spec spellings', async (t) => {
  const tuning: TuningSpec = {
    delivery: 'dvbs2',
    frequencyHz: 10_773_000_000,
    polarization: 'h',
    symbolRate: 22_000_000,
    modulation: '8psk',
  };
  t.equal(
    tuningQuery({ ...tuning, fec: '2/3', rolloff: '0.20', pilots: true }, 1),
    'src=1&freq=10773&pol=h&msys=dvbs2&sr=22000&mtype=8psk&fec=23&ro=0.20&plts=on',
  );
  t.equal(
    tuningQuery({ ...tuning, fec: '9/10', pilots: false }, 1),
    'src=1&freq=10773&pol=h&msys=dvbs2&sr=22000&mtype=8psk&fec=910&plts=off',
  );
  t.equal(
    tuningQuery({ ...tuning, delivery: 'dvbs', fec: '3/4', rolloff: '0.25' }, 1),
    'src=1&freq=10773&pol=h&msys=dvbs&sr=22000&mtype=8psk&fec=34',
    'DVB-S: no roll-off or pilots',
  );
});

t.test('PLAY queries for a changed PID set', async (t) => {
  const cases: [
    string,
    readonly number[] | 'all',
    readonly number[] | 'all',
    string | undefined,
  ][] = [
    ['PMT found', SI, [...SI, 4096], 'addpids=4096'],
    ['streams found', [0, 16, 4096], [0, 16, 256, 257, 4096], 'addpids=256,257'],
    [
      'a service replaced',
      [0, 16, 256, 4096],
      [0, 16, 300, 4097],
      'delpids=256,4096&addpids=300,4097',
    ],
    ['a service removed', [0, 16, 256, 257], [0, 16], 'delpids=256,257'],
    ['no change', [0, 16], [0, 16], undefined],
    ['to every PID', [0, 16], 'all', 'pids=all'],
    ['from every PID to a list', 'all', [0, 16], 'pids=0,16'],
    ['all stays all', 'all', 'all', undefined],
    ['emptied', [0, 16], [], 'pids=none'],
  ];
  for (const [name, from, to, want] of cases) t.equal(pidChangeQuery(from, to), want, name);
});

t.test('a tuning as messages name it', async (t) => {
  t.equal(
    describeTuning({ delivery: 'dvbs2', frequencyHz: 11_494_000_000, polarization: 'h' }),
    '11494 MHz H',
  );
  t.equal(describeTuning({ delivery: 'dvbt2', frequencyHz: 506_000_000 }), '506 MHz');
});
