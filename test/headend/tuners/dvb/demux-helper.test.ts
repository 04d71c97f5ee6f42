// scripts/dvb-demux.py, the demux helper of local DVB adapters, where no DVB device exists:
// it must say clearly what is wrong (not a DVB demux, no device, usage) and exit 1, never
// hang or pass bytes through unfiltered. Its ioctl path needs a real demux (dvb-vidtv.test.ts).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMUX_HELPER } from '../../../../src/headend/tuners/dvb/run.js';

const HAVE_PY = spawnSync('python3', ['--version']).status === 0;

t.test(
  'dvb-demux.py on what is not a DVB adapter',
  { skip: HAVE_PY ? false : 'python3 is missing' },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'headend-demux-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const run = (args: string[], input = 'pids 0 16 17\n') =>
      spawnSync(DEMUX_HELPER, args, { input, encoding: 'utf8', timeout: 10_000 });
    const usage = run([]);
    t.equal(usage.status, 1, 'no arguments: exit 1');
    t.match(usage.stderr, /^error: usage: dvb-demux.py ADAPTER_DIR DEMUX/m);
    const missing = run([join(dir, 'adapter9'), '0']);
    t.equal(missing.status, 1);
    t.match(missing.stderr, /error: .*adapter9\/dvr0: No such file or directory/);
    const fake = join(dir, 'adapter0');
    mkdirSync(fake);
    writeFileSync(join(fake, 'dvr0'), 'x'.repeat(188 * 10));
    writeFileSync(join(fake, 'demux0'), '');
    const plain = run([fake, '0']);
    t.equal(plain.status, 1, 'regular files: exit 1');
    t.match(plain.stderr, /error: .*demux0: set filter: not a DVB demux device/);
    t.equal(plain.stdout, '', 'nothing passed through unfiltered');
  },
);
