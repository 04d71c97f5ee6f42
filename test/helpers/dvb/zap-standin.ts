// A stand-in for dvbv5-zap, for tests: these machines have no tuner hardware and no dvb_vidtv
// module, so the local-adapter path is tested behind the same interface with this program in
// the place of dvbv5-zap (and demux-standin.ts in the place of scripts/dvb-demux.py).
//
// It takes dvbv5-zap's arguments (-a -f -c -r -l -S -U and the entry name), appends them and
// the channel file it was given to ADAPTER/zap.log (one JSON line per start), and prints the
// statistics line libdvbv5 prints, once a second, as the file ADAPTER/state says:
//   lock (default)  "Lock   (0x1f) Signal= -41.50dBm C/N= 13.20dB UCB= 0 postBER= 0"
//   nolock          "       (0x01) Signal= 8.00% C/N= 0.00%"
//   busy            an EBUSY error at start, exit 1
//   slow-busy       the same after 1.5 s of silence (a program slow to start on a loaded box)
// ADAPTER = $HEADEND_DVB_DEVICES/adapterN (the daemon passes that variable to its zap).

import { appendFileSync, existsSync, readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const opt = (flag: string): string | undefined => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};
const devices = process.env.HEADEND_DVB_DEVICES ?? '/dev/dvb';
const adapterDir = `${devices}/adapter${opt('-a') ?? '0'}`;
const conf = opt('-c');
appendFileSync(
  `${adapterDir}/zap.log`,
  `${JSON.stringify({ args, conf: conf !== undefined ? readFileSync(conf, 'utf8') : null })}\n`,
);
const state = (): string =>
  existsSync(`${adapterDir}/state`) ? readFileSync(`${adapterDir}/state`, 'utf8').trim() : 'lock';

if (state() === 'slow-busy') await new Promise((r) => setTimeout(r, 1500));
process.stderr.write(`using demux '${adapterDir}/demux0'\nreading channels from file '${conf}'\n`);
if (state() === 'busy' || state() === 'slow-busy') {
  process.stderr.write(
    `ERROR    open of ${adapterDir}/frontend${opt('-f') ?? '0'} failed: Device or resource busy\n`,
  );
  process.exit(1);
}
process.stderr.write('tuning to 11494000 Hz\n');
const tick = (): void => {
  process.stderr.write(
    state() === 'nolock'
      ? '       (0x01) Signal= 8.00% C/N= 0.00%\n'
      : 'Lock   (0x1f) Signal= -41.50dBm C/N= 13.20dB UCB= 0 postBER= 0\n',
  );
};
tick();
const timer = setInterval(tick, 1000);
process.on('SIGTERM', () => {
  clearInterval(timer);
  process.exit(0);
});
