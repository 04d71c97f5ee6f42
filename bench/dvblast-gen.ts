// The MPTS generator of bench/dvblast.ts: plays a transport stream file once into a multicast
// group at its own rate, 7 TS packets (1316 bytes) per datagram, each sent at the time its
// bytes take at the file's PCR pace (chunkTimes). It sleeps to each send (Atomics.wait: a
// futex with the kernel's ~50 µs timer slack) and never spins, so that it leaves the CPU to the
// tools it feeds; a connected socket hands each datagram to the kernel synchronously.
//
// Why not `ffmpeg -re -c copy -f mpegts udp://…`: -re paces by the input's DTS, so each video
// frame leaves as one burst (bench/pacing.ts measures that baseline), and -c copy re-muxes the
// stream (new PCRs and PIDs, programs only as re-declared). Both tools under test would then
// be fed a burstier and different stream than the file.
//
//   node dist/bench/dvblast-gen.js <file.ts> <group:port>[,<group:port>…]
//
// With several destinations each datagram goes to every one of them at its time (one input
// per group for benches whose channels each need their own, bench/scale.ts).
//
// Prints `ready` once loaded, starts on the first line it reads on stdin (or its end), and prints one JSON
// line at the end: datagrams sent, seconds, and how late the sends were.
import '../test/helpers/private-network.js'; // before any socket: only inside the private network namespace
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { chunkTimes } from './input.js';

const DG = 1316;

async function main(): Promise<void> {
  const [file, dests] = process.argv.slice(2);
  const ts = new Uint8Array(readFileSync(file));
  const times = chunkTimes(ts, DG);
  const socks = await Promise.all(
    dests.split(',').map(async (dest) => {
      const [group, port] = dest.split(':');
      const sock = createSocket({ type: 'udp4' });
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
      sock.setMulticastInterface('127.0.0.1');
      sock.setMulticastTTL(1);
      sock.setMulticastLoopback(true);
      sock.setSendBufferSize(4 << 20);
      await new Promise<void>((r, j) =>
        sock.connect(Number(port), group, (e?: Error) => (e ? j(e) : r())),
      );
      return sock;
    }),
  );

  // Loaded and timed (a 25 s file takes a second or two): say so, start on the first stdin line.
  process.stdout.write('ready\n');
  await new Promise((r) => process.stdin.once('data', r).once('end', r));
  process.stdin.destroy();

  const word = new Int32Array(new SharedArrayBuffer(4));
  const lateUs: number[] = [];
  const t0 = performance.now();
  let lastYield = t0;
  for (let i = 0; i < times.length; i++) {
    const due = t0 + times[i] * 1000;
    let wait = due - performance.now();
    if (wait > 0) Atomics.wait(word, 0, 0, wait);
    wait = due - performance.now();
    lateUs.push(-wait * 1000);
    const dg = Buffer.from(ts.buffer, ts.byteOffset + i * DG, DG);
    for (const sock of socks) sock.send(dg);
    // Now and then let the event loop run (completed sends, should any have queued).
    if (due - lastYield > 200) {
      lastYield = due;
      await new Promise((r) => setImmediate(r));
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  for (const sock of socks) sock.close();
  lateUs.sort((a, b) => a - b);
  const pct = (p: number): number =>
    lateUs[Math.min(lateUs.length - 1, Math.floor(p * lateUs.length))];
  console.log(
    JSON.stringify({
      datagrams: times.length,
      seconds,
      bitrate: (times.length * DG * 8) / seconds,
      lateP50Us: pct(0.5),
      lateP99Us: pct(0.99),
      lateMaxUs: lateUs[lateUs.length - 1],
    }),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
