// A stand-in Linux DVB adapter for tests (no tuner hardware or dvb_vidtv here): a devices
// directory with adapterN/{frontend0, demux0, dvr0} where dvr0 is a file holding the
// multiplex, and the two programs a `tuners:` entry names in the place of dvbv5-zap and
// scripts/dvb-demux.py (zap-standin.ts, demux-standin.ts, run through small sh wrappers).

import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/test/helpers/dvb → the package root. */
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

export interface StandinAdapter {
  /** The `devices:` directory (holds adapterN). */
  devices: string;
  /** The adapter's directory: state, zap.log and pids.log are read and written there. */
  adapter: string;
  /** The `zap:` and `demux:` programs. */
  zap: string;
  demux: string;
}

/**
 * Makes adapter `n` under `dir`/dev/dvb with `mpts` (a TS file) as its dvr device (empty when
 * absent), and the wrapper scripts in `dir`. `state` (lock, nolock, busy) as zap-standin reads it.
 */
export function standinAdapter(dir: string, mpts?: string, n = 0, state?: string): StandinAdapter {
  const devices = join(dir, 'dev', 'dvb');
  const adapter = join(devices, `adapter${n}`);
  mkdirSync(adapter, { recursive: true });
  for (const f of ['frontend0', 'demux0']) writeFileSync(join(adapter, f), '');
  if (mpts !== undefined) copyFileSync(mpts, join(adapter, 'dvr0'));
  else writeFileSync(join(adapter, 'dvr0'), '');
  if (state !== undefined) writeFileSync(join(adapter, 'state'), state);
  const wrapper = (name: string): string => {
    const file = join(dir, `${name}.sh`);
    const js = join(REPO, 'dist', 'test', 'helpers', 'dvb', `${name}-standin.js`);
    writeFileSync(file, `#!/bin/sh\nexec "${process.execPath}" "${js}" "$@"\n`);
    chmodSync(file, 0o755);
    return file;
  };
  return { devices, adapter, zap: wrapper('zap'), demux: wrapper('demux') };
}
