import t from 'tap';
import { Analyzer } from '../../../src/mpegts/analyzer/analyzer.js';
import {
  analyze,
  buildMux,
  indexesOf,
  insertBytes,
  prng,
  withRepeats,
  withoutPackets,
} from './helpers.js';

// A stream with one of most faults: loss, duplicates, garbage, a corrupted sync byte.
const m = buildMux({ durationSec: 3, sdtMs: 500 });
let faulty = withoutPackets(m, indexesOf(m, (p) => p.item === 'video').slice(300, 302));
faulty = withRepeats({ bytes: faulty, meta: m.meta.slice(0, faulty.length / 188) }, 1000, 2);
faulty = insertBytes(faulty, 1500 * 188 + 17, new Uint8Array(333).fill(0x47));
faulty[2500 * 188 + 333] = 0x00;

t.test('chunks split at arbitrary byte positions give identical reports', async (t) => {
  const whole = JSON.stringify(analyze(faulty));
  const r = JSON.parse(whole);
  t.ok(r.priority1Errors > 0, 'the faults are seen');
  for (const chunks of [[1], [7], [187], [188], [189], [1316], [4095, 1, 2, 3], [100_000]])
    t.equal(JSON.stringify(analyze(faulty, {}, chunks)), whole, `chunks ${chunks.join(',')}`);
  const rnd = prng(7);
  const sizes = Array.from({ length: 97 }, () => 1 + Math.floor(rnd() * 3000));
  t.equal(JSON.stringify(analyze(faulty, {}, sizes)), whole, 'random sizes');
});

t.test('random garbage never throws (seeded property test)', async (t) => {
  const rnd = prng(12345);
  for (let run = 0; run < 200; run++) {
    const kind = run % 4;
    let b: Uint8Array;
    if (kind === 0) {
      b = new Uint8Array(Math.floor(rnd() * 20000));
      for (let i = 0; i < b.length; i++) b[i] = rnd() < 0.05 ? 0x47 : Math.floor(rnd() * 256);
    } else {
      // A valid stream with random bytes overwritten, runs cut out and garbage inserted.
      b = m.bytes.slice(0, 188 * (50 + Math.floor(rnd() * 2000)));
      const n = Math.floor(rnd() * 200) * kind;
      for (let k = 0; k < n; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      if (kind >= 2) {
        const at = Math.floor(rnd() * b.length);
        b = insertBytes(b, at, b.slice(Math.floor(rnd() * b.length), Math.floor(rnd() * b.length)));
      }
    }
    const a = new Analyzer({ pidTimeoutMs: 1 + rnd() * 1000 });
    let o = 0;
    while (o < b.length) {
      const n = 1 + Math.floor(rnd() * 2000);
      a.push(b.subarray(o, o + n), rnd() < 0.5 ? undefined : rnd() * 1e10);
      o += n;
    }
    a.end();
    const r = a.report();
    if (r.totals.analyzerFaults !== undefined) t.fail(`run ${run}: internal fault`);
    if (r.totals.packets * 188 + r.totals.bytesSkipped !== b.length)
      t.fail(`run ${run}: bytes not accounted for`);
    JSON.stringify(r);
  }
  t.pass('200 runs');
});

t.test('empty input and end() twice', async (t) => {
  const a = new Analyzer();
  a.push(new Uint8Array(0));
  a.end();
  a.end();
  const r = a.report();
  t.equal(r.totals.packets, 0);
  t.equal(r.priority1Errors, 0, 'nothing known, nothing timed');
});
