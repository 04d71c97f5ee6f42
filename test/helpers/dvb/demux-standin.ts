// A stand-in for scripts/dvb-demux.py (the Linux DVB demux's hardware PID filter and the dvr
// device), for tests: there is no tuner hardware here. Same interface: arguments ADAPTER_DIR
// DEMUX, "pids …" lines on stdin, the transport stream on stdout. The dvr device is played by
// a file, ADAPTER_DIR/dvrN (an MPTS made by ffmpeg), read at its own rate (PCRs of its first
// PCR PID) and looped; only the packets of the PIDs last asked for pass, as a hardware filter
// would. Each pid set received is appended to ADAPTER_DIR/pids.log.

import { appendFileSync, readFileSync } from 'node:fs';

const [adapterDir, demux] = process.argv.slice(2);
const file = readFileSync(`${adapterDir}/dvr${demux}`);
const packets = Math.floor(file.length / 188);

/** bytes/s of the file, from the PCRs of the first PID that carries them. */
function rateOf(b: Buffer): number {
  let pcrPid = -1;
  let first = -1;
  let firstAt = 0;
  let last = -1;
  let lastAt = 0;
  for (let i = 0; i < packets; i++) {
    const o = i * 188;
    const pid = ((b[o + 1] & 0x1f) << 8) | b[o + 2];
    const hasAf = (b[o + 3] & 0x20) !== 0 && b[o + 4] > 0 && (b[o + 5] & 0x10) !== 0;
    if (!hasAf || (pcrPid >= 0 && pid !== pcrPid)) continue;
    pcrPid = pid;
    const base =
      b[o + 6] * 2 ** 25 + (b[o + 7] << 17) + (b[o + 8] << 9) + (b[o + 9] << 1) + (b[o + 10] >> 7);
    if (first < 0) {
      first = base;
      firstAt = o;
    }
    last = base;
    lastAt = o;
  }
  const seconds = (last - first) / 90_000;
  return seconds > 0 ? (lastAt - firstAt) / seconds : 1_000_000;
}

const rate = rateOf(file);
let wanted = new Set<number>();
let pending = '';
process.stdin.on('data', (c: Buffer) => {
  pending += c.toString('ascii');
  let nl: number;
  while ((nl = pending.indexOf('\n')) >= 0) {
    const words = pending.slice(0, nl).trim().split(/\s+/);
    pending = pending.slice(nl + 1);
    if (words[0] === 'pids') {
      wanted = new Set(words.slice(1).map(Number));
      appendFileSync(`${adapterDir}/pids.log`, `${words.slice(1).join(' ')}\n`);
    }
  }
});
process.stdin.on('end', () => process.exit(0));
process.stdout.on('error', () => process.exit(0));

const start = performance.now();
let sent = 0; // packets of the file consumed (all PIDs), across loops
const out = Buffer.alloc(188 * 512);
setInterval(() => {
  const due = Math.floor((((performance.now() - start) / 1000) * rate) / 188);
  let n = 0;
  while (sent < due && n < 512) {
    const o = (sent % packets) * 188;
    const pid = ((file[o + 1] & 0x1f) << 8) | file[o + 2];
    if (wanted.has(pid)) {
      file.copy(out, n * 188, o, o + 188);
      n++;
    }
    sent++;
  }
  if (n > 0) process.stdout.write(Buffer.from(out.subarray(0, n * 188)));
}, 10);
