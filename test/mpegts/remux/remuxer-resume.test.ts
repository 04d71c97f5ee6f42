// Remuxer.cutAtNextAnchor/resume (make-before-break of a moved channel): one remuxer stops
// reading its input just before an input PCR, and another, given the first one's output and
// input state, reads on from that very packet. Their outputs joined are, byte for byte, what
// one remuxer reading the whole input sends: no splice, no wait for an access point, no PTS gap.
// Whereas restore() after splice() (remuxer-state.test.ts) starts the input again at its next
// access point. On the synthesized program and on samples/sample.ts (ffmpeg's H.264 + AAC),
// VBR and CBR, cut at several points; the states go through structuredClone (they cross a
// thread boundary).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Remuxer } from '../../../src/mpegts/remux/remuxer.js';
import { getPid, hasPcr } from '../../../src/mpegts/packet.js';
import { concatBytes } from '../../../src/mpegts/psi/section.js';
import { synthesize, simpleProgram } from '../../helpers/synth.js';
import { checkStream, collector, priority12 } from '../../helpers/ts-check.js';

type Opts = ConstructorParameters<typeof Remuxer>[0];

const synth = synthesize({
  programs: [simpleProgram(1, 0x100, 0x1000)],
  durationMs: 4000,
  muxRate: 3e6,
  pcrIntervalMs: 30,
  withSdt: true,
}).ts;
const sample = new Uint8Array(
  readFileSync(fileURLToPath(new URL('../../../../samples/sample.ts', import.meta.url))),
);

const prep = (r: Remuxer): void => {
  r.setNit([]);
  r.setUtcReference(0, Date.UTC(2026, 11, 5, 12));
};

/** The whole input through one remuxer, in 1316-byte chunks. */
function whole(input: Uint8Array, opts: Opts): Uint8Array {
  const out = collector();
  const r = new Remuxer(opts, out.sink);
  prep(r);
  for (let o = 0; o < input.length; o += 1316) r.push(input.subarray(o, o + 1316));
  r.end();
  return out.bytes();
}

/**
 * The input up to `at` through A, which is then asked to cut and fed on until it has; B resumes
 * from A's states and is fed from the cut packet (found in the input) on.
 */
function handOver(input: Uint8Array, opts: Opts, at: number) {
  const outA = collector();
  const a = new Remuxer(opts, outA.sink);
  prep(a);
  let o = 0;
  for (; o < at; o += 1316) a.push(input.subarray(o, Math.min(at, o + 1316)));
  o = at;
  a.cutAtNextAnchor();
  for (; o < input.length && a.inputState() === null; o += 1316) {
    a.push(input.subarray(o, o + 1316));
  }
  const cut = a.inputState();
  if (!cut) throw new Error('A never cut');
  const from = Buffer.from(input).indexOf(Buffer.from(cut.cutPacket));
  const outB = collector();
  const b = new Remuxer(opts, outB.sink);
  prep(b);
  b.resume(structuredClone(a.state()), structuredClone(cut));
  for (let p = from; p < input.length; p += 1316) b.push(input.subarray(p, p + 1316));
  b.end();
  return { a: outA.bytes(), b: outB.bytes(), from, cut, b2: b };
}

for (const [inputName, input] of [
  ['synthesized', synth],
  ['samples/sample.ts', sample],
] as [string, Uint8Array][]) {
  for (const [name, opts] of [
    ['VBR', { pcrAlign: 7 }],
    ['CBR', { cbrBitrate: 4e6, pcrAlign: 7 }],
  ] as [string, Opts][]) {
    const ref = whole(input, opts);
    for (const frac of [0.3, 0.55, 0.8]) {
      const at = Math.floor((input.length * frac) / 188) * 188 + 94; // mid-packet, too
      t.test(`${inputName}, ${name}, cut after ${Math.round(frac * 100)} %`, async (t) => {
        const r = handOver(input, opts, at);
        t.ok(r.from >= at - 94, `the cut packet is in the input after the ask (at ${r.from})`);
        t.ok(r.from % 188 === 0, 'on a packet boundary of the input');
        t.ok(hasPcr(r.cut.cutPacket, 0), `it carries a PCR (PID ${getPid(r.cut.cutPacket, 0)})`);
        const pid = getPid(r.cut.cutPacket, 0);
        let earlier = 0;
        for (let p = Math.ceil(at / 188) * 188; p < r.from; p += 188)
          if (getPid(input, p) === pid && hasPcr(input, p)) earlier++;
        t.equal(earlier, 0, 'at the first PCR of that PID after the ask');
        const joined = concatBytes([r.a, r.b]);
        t.ok(r.b.length > 188 * 100, `B sent ${r.b.length / 188} packets`);
        t.equal(joined.length, ref.length, 'as many packets as one remuxer sends');
        t.ok(
          Buffer.from(joined).equals(Buffer.from(ref)),
          'A then B: byte for byte what one sends',
        );
        const chk = checkStream(joined, 0x100, 0x1000);
        t.equal(chk.ccErrors, 0, 'no CC error across the hand-over');
        t.equal(chk.discontinuities, 0, 'no discontinuity_indicator');
        t.same(priority12(joined), [], 'no priority-1/2 error');
        t.equal(r.b2.stats.splices, 0, 'B spliced nothing');
        t.equal(r.b2.starting, false, 'and waits for no access point');
      });
    }
  }
}

// In 1000-byte chunks the cut falls inside one, whose end holds part of the next packet: the
// framer must not glue it onto the cut packet when that comes again whole.
for (const size of [1316, 1000])
  t.test(`readOn (${size}-byte chunks): the cut remuxer reads on from its own cut`, async (t) => {
    const opts: Opts = { pcrAlign: 7 };
    const ref = whole(sample, opts);
    const out = collector();
    const a = new Remuxer(opts, out.sink);
    prep(a);
    let o = 0;
    for (; o < sample.length >> 1; o += size) a.push(sample.subarray(o, o + size));
    a.cutAtNextAnchor();
    for (; a.inputState() === null && o < sample.length; o += size)
      a.push(sample.subarray(o, o + size));
    t.ok(a.inputState(), 'cut');
    const from = Buffer.from(sample).indexOf(Buffer.from(a.inputState()!.cutPacket));
    a.push(sample.subarray(from, from + 188 * 50)); // ignored: cut
    a.readOn();
    t.equal(a.inputState(), null, 'no longer cut');
    for (let p = from; p < sample.length; p += size) a.push(sample.subarray(p, p + size));
    a.end();
    t.ok(Buffer.from(out.bytes()).equals(Buffer.from(ref)), 'byte for byte what one remuxer sends');
  });

t.test('a splice after a cut reads the input again (the hand-over fell back)', async (t) => {
  const a = new Remuxer({ pcrAlign: 7 }, () => {});
  for (let o = 0; o < 188 * 1000; o += 1316) a.push(sample.subarray(o, o + 1316));
  a.cutAtNextAnchor();
  for (let o = 188 * 1000; a.inputState() === null && o < sample.length; o += 1316)
    a.push(sample.subarray(o, o + 1316));
  t.ok(a.inputState(), 'cut');
  a.splice();
  t.equal(a.inputState(), null, 'the cut is forgotten');
  const n = a.stats.packetsIn;
  a.push(sample.subarray(188 * 2500, 188 * 2600));
  t.equal(a.stats.packetsIn, n + 100, 'and the input is read');
});

t.test(
  'a cut while the video still waits for its access point: the wait goes on in B',
  async (t) => {
    const opts: Opts = { pcrAlign: 7 };
    const ref = whole(sample, opts);
    // The first PCR after packet 30 comes before the sample's first keyframe ends its wait.
    const a = new Remuxer(opts, () => {});
    prep(a);
    a.push(sample.subarray(0, 188 * 30));
    t.ok(a.starting, 'the video waits for its access point');
    const r = handOver(sample, opts, 188 * 30);
    t.ok(
      r.cut.gate.wait.some((w) => w !== 0),
      'the cut carries a stream still waiting',
    );
    t.ok(
      Buffer.from(concatBytes([r.a, r.b])).equals(Buffer.from(ref)),
      'A then B: byte for byte what one remuxer sends',
    );
    const c = new Remuxer(opts, () => {});
    c.cutAtNextAnchor();
    for (let o = 0; o < sample.length && c.inputState() === null; o += 1316)
      c.push(sample.subarray(o, o + 1316));
    const n = c.stats.packetsIn;
    c.push(sample.subarray(188 * 2000, 188 * 2100));
    t.equal(c.stats.packetsIn, n, 'input after the cut is not read');
  },
);
