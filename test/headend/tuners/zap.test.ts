// dvbv5-zap's side of a local adapter: the DVBv5 channel file and arguments made from the
// tuning (libdvbv5's dvb-file keys and units), and its statistics lines read back.
import t from 'tap';
import { channelFile, dvbv5Lnb, zapArgs } from '../../../src/headend/tuners/dvb/zap-args.js';
import { explainZapError, parseZapStatus } from '../../../src/headend/tuners/dvb/zap-status.js';
import type { DvbTunerSpec, TuningSpec } from '../../../src/headend/tuners/types.js';

const spec = (tuning: TuningSpec): DvbTunerSpec => ({
  id: 'x',
  kind: 'dvb',
  adapter: 1,
  frontend: 2,
  tuning,
  tuneTimeoutMs: 10_000,
  devices: '/dev/dvb',
  zap: 'dvbv5-zap',
});
const UNIVERSAL = { lowHz: 9.75e9, highHz: 10.6e9, switchHz: 11.7e9 };

t.test('DVB-S2: kHz frequency, polarization, symbol rate, LNB, DiSEqC', async (t) => {
  const s = spec({
    delivery: 'dvbs2',
    frequencyHz: 11_494_000_000,
    polarization: 'v',
    symbolRate: 27_500_000,
    lnb: UNIVERSAL,
    diseqc: 3,
  });
  t.equal(
    channelFile(s.tuning),
    '[headend]\n\tDELIVERY_SYSTEM = DVBS2\n\tFREQUENCY = 11494000\n\tPOLARIZATION = VERTICAL\n' +
      '\tSYMBOL_RATE = 27500000\n\tINNER_FEC = AUTO\n\tMODULATION = PSK/8\n\tROLLOFF = AUTO\n' +
      '\tPILOT = AUTO\n\tINVERSION = AUTO\n',
  );
  t.same(zapArgs(s, '/tmp/c.conf'), [
    ...['-a', '1', '-f', '2', '-c', '/tmp/c.conf', '-r', '-l', 'EXTENDED', '-S', '2', 'headend'],
  ]);
  const uni = spec({ ...s.tuning, unicable: { slot: 3, frequencyHz: 1_210_000_000 } });
  t.same(
    zapArgs(uni, 'c').slice(-5),
    ['-S', '2', '-U', '1210000', 'headend'],
    'unicable slot and band',
  );
});

t.test('DVB-S2 with FEC, roll-off and pilots given: libdvbv5 spellings', async (t) => {
  const f = channelFile({
    delivery: 'dvbs2',
    frequencyHz: 10_773_000_000,
    polarization: 'h',
    symbolRate: 22_000_000,
    fec: '9/10',
    rolloff: '0.20',
    pilots: false,
  });
  t.match(f, /\tINNER_FEC = 9\/10\n\tMODULATION = PSK\/8\n\tROLLOFF = 20\n\tPILOT = OFF\n/);
  t.match(
    channelFile({
      delivery: 'dvbs',
      frequencyHz: 11_494_000_000,
      polarization: 'v',
      symbolRate: 27_500_000,
      fec: '3/4',
    }),
    /\tINNER_FEC = 3\/4\n\tINVERSION/,
    'DVB-S: the FEC only',
  );
});

t.test('DVB-T2, DVB-C and ATSC: Hz, bandwidth, PLP, modulation', async (t) => {
  const t2 = channelFile({ delivery: 'dvbt2', frequencyHz: 474e6, bandwidthHz: 8e6, plp: 1 });
  t.match(t2, /DELIVERY_SYSTEM = DVBT2\n\tFREQUENCY = 474000000\n\tBANDWIDTH_HZ = 8000000\n/);
  t.match(t2, /STREAM_ID = 1\n/);
  const c = channelFile({
    delivery: 'dvbc',
    frequencyHz: 346e6,
    symbolRate: 6.9e6,
    modulation: 'qam256',
  });
  t.match(
    c,
    /DELIVERY_SYSTEM = DVBC\/ANNEX_A\n\tFREQUENCY = 346000000\n\tSYMBOL_RATE = 6900000\n\tMODULATION = QAM\/256\n/,
  );
  t.match(
    channelFile({ delivery: 'atsc', frequencyHz: 575e6, modulation: '8vsb' }),
    /MODULATION = VSB\/8/,
  );
  t.same(zapArgs(spec({ delivery: 'dvbt2', frequencyHz: 474e6 }), 'c'), [
    '-a',
    '1',
    '-f',
    '2',
    '-c',
    'c',
    '-r',
    'headend',
  ]);
});

t.test('LNB oscillators map to libdvbv5 LNB types', async (t) => {
  t.equal(dvbv5Lnb(UNIVERSAL), 'EXTENDED');
  t.equal(dvbv5Lnb({ lowHz: 10.75e9 }), 'L10750');
  t.equal(dvbv5Lnb({ lowHz: 5.15e9 }), 'C-BAND');
  t.equal(dvbv5Lnb({ lowHz: 9.8e9 }), undefined);
});

t.test("libdvbv5's statistics lines", async (t) => {
  t.same(
    parseZapStatus('Lock   (0x1f) Signal= -38.00dBm C/N= 12.50dB UCB= 3 postBER= 2.10x10^-6', 5),
    {
      lock: true,
      at: 5,
      signal: { value: -38, unit: 'dBm' },
      snr: { value: 12.5, unit: 'dB' },
      uncorrected: 3,
      ber: 2.1e-6,
    },
  );
  t.same(parseZapStatus('Carrier(0x03) Signal= 41.20% C/N= 0.00%', 1), {
    lock: false,
    at: 1,
    signal: { value: 41.2, unit: '%' },
    snr: { value: 0, unit: '%' },
  });
  t.same(parseZapStatus('       (0x00) Signal= 8.00%', 1), {
    lock: false,
    at: 1,
    signal: { value: 8, unit: '%' },
  });
  t.equal(parseZapStatus('tuning to 11494000 Hz'), undefined);
  t.equal(parseZapStatus("reading channels from file '/tmp/x'"), undefined);
  t.match(
    explainZapError('ERROR    open of /dev/dvb/adapter0/frontend0 failed: Permission denied', 'F'),
    /video group/,
  );
  t.match(
    explainZapError('ERROR: Device or resource busy', 'F'),
    /F is busy: another program holds it \(find it with: fuser -v F\)/,
  );
  t.equal(explainZapError("frontend doesn't lock", 'F'), 'no lock');
});
