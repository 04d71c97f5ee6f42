// The local-adapter path against the kernel's virtual DVB driver, dvb_vidtv (drivers/media/
// test-drivers/vidtv): real dvbv5-zap, the real scripts/dvb-demux.py, a real frontend, demux
// and dvr. The driver's DVB-T tuner locks on 474 MHz and its multiplex carries one radio
// service (service_id 0x880, "Beethoven", MPEG audio), with PAT, PMT, SDT, NIT and EIT.
//
// These machines have neither DVB hardware nor the module (a kernel without /lib/modules), so
// here it is skipped, saying why; where the module is loaded (or can be, as root) it runs.
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import {
  analyzeRecording,
  failing,
  ffprobeJson,
  openRecorder,
  sleep,
  startDaemon,
  stopAndCheck,
} from './helpers.js';

/** The adapter number of a vidtv bridge, or why there is none. */
function vidtvAdapter(): number | string {
  if (!existsSync('/sys/module/dvb_vidtv_bridge')) {
    if (
      process.getuid?.() === 0 &&
      existsSync(`/lib/modules/${spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim()}`)
    ) {
      spawnSync('modprobe', ['-q', 'dvb_vidtv_bridge'], { stdio: 'ignore' });
    }
    if (!existsSync('/sys/module/dvb_vidtv_bridge')) {
      return 'the dvb_vidtv_bridge kernel module is not loaded and cannot be loaded here';
    }
  }
  if (spawnSync('which', ['dvbv5-zap']).status !== 0)
    return 'dvbv5-zap (dvb-tools) is not installed';
  if (!existsSync('/dev/dvb')) return 'no /dev/dvb although dvb_vidtv is loaded';
  for (const a of readdirSync('/dev/dvb')) {
    const name = `/sys/class/dvb/dvb${a.replace('adapter', '')}.frontend0/device/name`;
    const driver = existsSync(name) ? spawnSync('cat', [name], { encoding: 'utf8' }).stdout : '';
    if (/vidtv/i.test(driver) || readdirSync('/dev/dvb').length === 1)
      return Number(a.replace('adapter', ''));
  }
  return 'no adapter of dvb_vidtv under /dev/dvb';
}

const found = vidtvAdapter();
t.test(
  'dvb_vidtv: real dvbv5-zap and dvb-demux.py feed a channel',
  { skip: typeof found === 'string' ? found : false },
  async (t) => {
    const group = '239.255.29.1';
    const port = 6901;
    const d = startDaemon(t, {
      text:
        `headend:\n  interface: 127.0.0.1\n  ttl: 1\n` +
        `tuners:\n  - id: vidtv\n    adapter: ${found as number}\n    delivery: dvbt\n` +
        `    frequency: 474M\n    bandwidth: 8M\n    tune_timeout: 10s\n` +
        `channels:\n  - number: 91\n    name: Vidtv Radio\n    output: udp://${group}:${port}\n` +
        `    source: { tuner: vidtv, service: 2176 }\n`,
    });
    await d.waitFor((e) => e.event === 'ready', 10_000);
    await d.waitFor((e) => e.event === 'source-lock', 20_000);
    await d.waitFor((e) => e.event === 'source-up', 20_000);
    const rec = await openRecorder(t, group, port);
    const probe = await ffprobeJson(group, port, 8);
    await sleep(2000);
    await rec.close();
    t.ok(
      probe.streams?.some((s) => s.codec_type === 'audio'),
      'the radio service arrives (audio)',
    );
    const r = analyzeRecording(rec);
    t.equal(r.priority1Errors, 0, `zero priority-1 errors ${failing(r)}`);
    await stopAndCheck(t, d, []);
  },
);
