// The daemon with and without the native UDP addon (native/udp.c): a UDP multicast source in,
// two channels out, one of them with a DSCP. With the addon (the default where it is built)
// the daemon says so, both outputs play in ffprobe and are clean (Analyzer), and the DSCP is on
// the wire (read back with IP_RECVTOS by test/helpers/recv-tos.py). With HEADEND_NATIVE_UDP=0
// (as where the addon cannot be built) the daemon names the fallback and why, the outputs are
// the same, and the TOS it cannot set is reported (tos-not-applied).
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  TsSender,
  analyzeRecording,
  failing,
  ffprobeJson,
  openRecorder,
  sleep,
  startDaemon,
  stopAndCheck,
} from './helpers.js';

const SAMPLE = fileURLToPath(new URL('../../../samples/sample.ts', import.meta.url));
const RECV_TOS = fileURLToPath(new URL('../../../test/helpers/recv-tos.py', import.meta.url));
const DSCP = 34; // AF41: TOS byte 136

function receivedTos(group: string, port: number): Promise<number | string> {
  return new Promise((resolve) => {
    execFile(
      'python3',
      [RECV_TOS, group, String(port), '127.0.0.1', '8'],
      { timeout: 15_000 },
      (err, stdout, stderr) => resolve(err ? `failed: ${stderr || err.message}` : +stdout),
    );
  });
}

for (const mode of ['native', 'dgram'] as const) {
  t.test(`UDP in, two channels out, ${mode}`, async (t) => {
    const base = mode === 'native' ? 30 : 31;
    const inGroup = `239.255.${base}.9`;
    const outs = [1, 2].map((k) => ({ group: `239.255.${base}.${k}`, port: 6500 + k }));
    const sender = new TsSender(SAMPLE, inGroup, 6509);
    await sender.start();
    t.teardown(() => sender.stop());
    const url = `udp://@${inGroup}:6509?interface=127.0.0.1`;
    const d = startDaemon(
      t,
      {
        text:
          `headend:\n  interface: 127.0.0.1\n  ttl: 1\n  http: false\n  rtsp: false\nchannels:\n` +
          `  - number: 1\n    name: One\n    output: udp://${outs[0].group}:${outs[0].port}\n` +
          `    source: ${url}\n` +
          `  - number: 2\n    name: Two\n    output: udp://${outs[1].group}:${outs[1].port}\n` +
          `    source: ${url}\n    dscp: ${DSCP}\n`,
      },
      mode === 'dgram' ? { HEADEND_NATIVE_UDP: '0' } : {},
    );
    const native = await d.waitFor((e) => e.event === 'native-udp', 10_000);
    if (mode === 'native') {
      t.equal(native.level, 'info', `the addon is used: ${String(native.message)}`);
    } else {
      t.equal(native.level, 'warn', 'the fallback is a warning');
      t.match(String(native.message), /node:dgram.*HEADEND_NATIVE_UDP=0/, 'naming why');
    }
    await d.waitFor((e) => e.event === 'ready', 10_000);
    for (const name of ['1 One', '2 Two'])
      await d.waitFor((e) => e.event === 'source-up' && e.channel === name, 10_000);
    const recs = await Promise.all(outs.map((o) => openRecorder(t, o.group, o.port)));
    const tos = receivedTos(outs[1].group, outs[1].port);
    const probes = Promise.all(outs.map((o) => ffprobeJson(o.group, o.port, 8)));
    await sleep(5000);
    await Promise.all(recs.map((r) => r.close()));
    const notApplied = d.events.filter((e) => e.event === 'tos-not-applied');
    if (mode === 'native') {
      t.equal(await tos, DSCP << 2, `channel Two leaves with TOS ${DSCP << 2} (DSCP ${DSCP})`);
      t.same(notApplied, [], 'no tos-not-applied');
    } else {
      t.equal(await tos, 0, 'dgram cannot set the TOS');
      t.equal(notApplied.length, 1, 'and the daemon says so for channel Two');
    }
    for (const [i, p] of (await probes).entries()) {
      t.same(
        (p.streams ?? []).map((s) => s.codec_type).sort(),
        ['audio', 'video'],
        `output ${i + 1}: ffprobe finds video and audio`,
      );
      const r = analyzeRecording(recs[i]);
      t.ok(r.totals.packets > 1000, `output ${i + 1}: ${r.totals.packets} packets recorded`);
      t.equal(r.priority1Errors, 0, `output ${i + 1}: zero priority-1 errors ${failing(r)}`);
    }
    await stopAndCheck(t, d, []);
  });
}
