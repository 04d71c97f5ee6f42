// The seam between one reader and several on one source (src/headend/sources/fan-out.ts,
// through SupervisedSource with a stand-in run that hands over chunks cut anywhere, as an ffmpeg
// pipe does). A synthesized three-program MPTS (test/helpers/synth.ts), each elementary packet
// stamped with its index so that every packet is unique. Whatever the cut, a reader loses no
// packet and gets no broken one (its framer skips nothing) when a second reader comes and goes,
// and a newcomer that goes on from a packet of the run gets every packet of its program from it.
// Before the fix, the reader on air lost the packet astride the seam (and its framer skipped
// bytes) whenever the chunk boundary fell inside a packet.
import t, { type Test } from 'tap';
import { Framer } from '../../../src/mpegts/framer.js';
import { getPid } from '../../../src/mpegts/packet.js';
import { Backoff } from '../../../src/headend/sources/backoff.js';
import { SupervisedSource } from '../../../src/headend/sources/supervisor.js';
import type { RunContext } from '../../../src/headend/sources/run.js';
import type { SourceSubscriber } from '../../../src/headend/sources/types.js';
import { simpleProgram, synthesize } from '../../helpers/synth.js';
import { prng } from '../../helpers/ts-check.js';

const PROGRAMS = [
  simpleProgram(1, 0x100, 0x1000),
  simpleProgram(2, 0x200, 0x1001),
  simpleProgram(3, 0x300, 0x1002),
];
const ES = new Set([0x100, 0x101, 0x200, 0x201, 0x300, 0x301]);
const { ts } = synthesize({ programs: PROGRAMS, durationMs: 1500, muxRate: 6e6, withSdt: true });
const COUNT = ts.length / 188;
for (let i = 0; i < COUNT; i++) {
  if (ES.has(getPid(ts, i * 188))) new DataView(ts.buffer).setUint32(i * 188 + 184, i);
}
const pidAt = (i: number): number => getPid(ts, i * 188);

/** A subscriber that frames what it gets: the input packet indices, in order, and skips. */
class Reader implements SourceSubscriber {
  readonly got: number[] = [];
  broken = 0;
  private readonly framer = new Framer({
    packet: (b, o) => {
      const i = index(b, o, this.got.length > 0 ? this.got[this.got.length - 1]! + 1 : 0);
      if (i < 0) this.broken++;
      else this.got.push(i);
    },
  });
  data(chunk: Uint8Array): void {
    this.framer.push(chunk);
  }
  restarted(): void {}
  failed(): void {}
  get skipped(): number {
    return this.framer.bytesSkipped;
  }
}

/** The input packet equal to b[o..o+188), searched from `from` on; −1 if none (broken). */
function index(b: Uint8Array, o: number, from: number): number {
  const p = Buffer.from(b.buffer, b.byteOffset + o, 188);
  for (let i = from; i < COUNT; i++) if (p.equals(ts.subarray(i * 188, i * 188 + 188))) return i;
  return -1;
}

/**
 * A source with a stand-in run; play(to) hands it the stream up to byte `to` in chunks of
 * 100-3000 bytes cut anywhere (seeded), and `at` says how far it has played.
 */
function source(seed: number): {
  src: SupervisedSource;
  play: (to: number) => void;
  readonly at: number;
} {
  let ctx: RunContext | undefined;
  const src = new SupervisedSource({
    key: 'test',
    describe: 'stand-in pipe',
    start: (c) => {
      ctx = c;
      return { pid: undefined, persistent: true, stop: async () => {} };
    },
    log: () => {},
    backoff: new Backoff(),
    stallMs: 60_000,
    startMs: 60_000,
    track: () => {},
  });
  src.open();
  const rnd = prng(seed);
  let at = 0;
  return {
    src,
    play: (to) => {
      while (at < to) {
        const n = Math.min(to - at, 100 + Math.floor(rnd() * 2900));
        ctx!.data(ts.subarray(at, at + n));
        at += n;
      }
    },
    get at() {
      return at;
    },
  };
}

/** Every packet of `program` (its PIDs and the PAT) in [from, to), got in full and in order. */
function whole(t: Test, r: Reader, program: number, from: number, to: number, what: string): void {
  const own = (pid: number): boolean =>
    pid === 0 || pid === 0x1000 + program - 1 || pid === program << 8 || pid === (program << 8) + 1;
  const want: number[] = [];
  for (let i = from; i < to; i++) if (own(pidAt(i))) want.push(i);
  const got = r.got.filter((i) => i >= from && i < to && own(pidAt(i)));
  t.same(got, want, `${what}: ${want.length} packets of program ${program}, none lost`);
  t.equal(r.broken, 0, `${what}: no broken packet`);
  t.equal(r.skipped, 0, `${what}: its framer skipped nothing`);
}

t.test('a second reader comes and goes: the first loses nothing, cut anywhere', async (t) => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const s = source(seed);
    const { src, play } = s;
    const first = new Reader();
    const second = new Reader();
    src.add(first, undefined, 1);
    play(Math.floor(ts.length * (0.3 + 0.05 * seed)));
    const joinAt = Math.ceil(s.at / 188);
    const rec = src.add(second, undefined, 2);
    play(Math.floor(ts.length * 0.8));
    src.remove(rec);
    play(ts.length);
    await src.close();
    whole(t, first, 1, 0, COUNT, `seed ${seed}, the first reader`);
    // The second: from the first packet after the seam, until it left.
    const left = second.got[second.got.length - 1]!;
    whole(t, second, 2, joinAt + 8, left, `seed ${seed}, the second reader`);
  }
});

t.test('a newcomer from a packet of the run: the replay joins the routed packets', async (t) => {
  for (const seed of [7, 8, 9, 10]) {
    const s = source(seed);
    const { src, play } = s;
    const [one, two, three] = [new Reader(), new Reader(), new Reader()];
    src.add(one, undefined, 1);
    play(Math.floor(ts.length * 0.3));
    // The second goes on from an elementary packet a few packets back (a moved channel).
    let from = Math.floor(s.at / 188) - 5;
    while (!ES.has(pidAt(from))) from--;
    src.add(two, undefined, 2, ts.subarray(from * 188, from * 188 + 188));
    play(Math.floor(ts.length * 0.6));
    let from3 = Math.floor(s.at / 188) - 3;
    while (!ES.has(pidAt(from3))) from3--;
    src.add(three, undefined, 3, ts.subarray(from3 * 188, from3 * 188 + 188));
    play(ts.length);
    await src.close();
    whole(t, one, 1, 0, COUNT, `seed ${seed}, the first reader`);
    whole(t, two, 2, from, COUNT, `seed ${seed}, the newcomer (1 → 2 readers)`);
    whole(t, three, 3, from3, COUNT, `seed ${seed}, the newcomer (2 → 3 readers)`);
  }
});

t.test(
  'the reader on air leaves before routing begins: the newcomer gets no stray tail',
  async (t) => {
    // 1 → 2 readers with the cut inside a packet, then the first leaves before the next chunk:
    // the newcomer, alone, takes the bytes as they come, which begin with the tail of a packet
    // whose head only the first reader had. It is kept from it (its framer skips nothing).
    for (const seed of [11, 12, 13]) {
      const s = source(seed);
      const [one, two] = [new Reader(), new Reader()];
      const rec = s.src.add(one, undefined, 1);
      let cut = Math.floor(ts.length * 0.4);
      if (cut % 188 === 0) cut += 50;
      s.play(cut);
      s.src.add(two, undefined, 2);
      s.src.remove(rec);
      s.play(ts.length);
      await s.src.close();
      t.equal(two.skipped, 0, `seed ${seed}: the newcomer's framer skipped nothing`);
      t.equal(two.broken, 0, `seed ${seed}: no broken packet`);
      whole(t, two, 2, Math.ceil(cut / 188), COUNT, `seed ${seed}, the newcomer`);
    }
  },
);
