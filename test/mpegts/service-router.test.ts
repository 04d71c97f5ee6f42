// ServiceRouter (src/mpegts/service-router.ts): one multiplex split among the services its
// subscribers take. A synthesized three-program MPTS (test/helpers/synth.ts: PAT, PMTs and SDT
// per ISO/IEC 13818-1 §2.4.4 and EN 300 468) is routed to slots for programs 2 and 3 and one
// that names no service; each gets exactly the SI PIDs, its PMT and its streams, in input
// order, whether the chunks are whole datagrams or cut anywhere; everything before the tables.
import t, { type Test } from 'tap';
import { ServiceRouter } from '../../src/mpegts/service-router.js';
import { getPid } from '../../src/mpegts/packet.js';
import { simpleProgram, synthesize } from '../helpers/synth.js';
import { prng } from '../helpers/ts-check.js';

const PROGRAMS = [
  simpleProgram(1, 0x100, 0x1000),
  simpleProgram(2, 0x200, 0x1001),
  simpleProgram(3, 0x300, 0x1002),
];
const { ts } = synthesize({ programs: PROGRAMS, durationMs: 2000, muxRate: 6e6, withSdt: true });

function packets(b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o + 188 <= b.length; o += 188) out.push(b.slice(o, o + 188));
  return out;
}
const input = packets(ts);
const pidsOf = (ps: Uint8Array[]): Set<number> => new Set(ps.map((p) => getPid(p, 0)));
/** Input packets from the first PMT of `pmtPid` on (by then the router knows the program). */
const firstAt = (pid: number): number => input.findIndex((p) => getPid(p, 0) === pid);

function routeAll(chunks: Uint8Array[], services: (number | undefined)[]): Uint8Array[][] {
  const r = new ServiceRouter(services);
  const got: Uint8Array[][] = services.map(() => []);
  for (const c of chunks) r.route(c, (slot, b) => got[slot].push(...packets(b)));
  return got;
}

function check(t: Test, got: Uint8Array[][], how: string): void {
  const [two, three, any] = got;
  t.same(any.length, input.length, `${how}: the slot without a service gets every packet`);
  t.ok(
    any.every((p, i) => Buffer.compare(p, input[i]) === 0),
    `${how}: unchanged, in order`,
  );
  for (const [slot, prog, own, others] of [
    [two, 2, [0x1001, 0x200, 0x201], [0x100, 0x300, 0x101, 0x301]],
    [three, 3, [0x1002, 0x300, 0x301], [0x100, 0x200, 0x101, 0x201]],
  ] as const) {
    // Once the PAT and the slot's PMT are in, only its packets and the SI.
    const from = Math.max(firstAt(0), firstAt(own[0]));
    const known = input.slice(from + 1);
    const expected = known.filter((p) => {
      const pid = getPid(p, 0);
      return pid === 0 || pid === 0x11 || (own as readonly number[]).includes(pid);
    });
    const tail = slot.slice(slot.length - expected.length);
    t.ok(
      tail.length === expected.length && tail.every((p, i) => Buffer.compare(p, expected[i]) === 0),
      `${how}: program ${prog} after its PMT: exactly SI + its PMT and streams, in order (${expected.length})`,
    );
    const late = pidsOf(tail);
    t.notOk(
      others.some((pid) => late.has(pid)),
      `${how}: program ${prog}: no other program's packets`,
    );
    t.ok(
      slot.length < input.length / 2,
      `${how}: program ${prog} gets ${slot.length} of ${input.length}`,
    );
    // Before its tables, nothing was held back.
    const head = slot.slice(0, slot.length - expected.length);
    t.same(head.length, from + 1, `${how}: program ${prog}: everything before its tables`);
  }
}

t.test('whole datagrams (7 packets): routed in place', async (t) => {
  const chunks: Uint8Array[] = [];
  for (let o = 0; o < ts.length; o += 1316) chunks.push(ts.subarray(o, o + 1316));
  check(t, routeAll(chunks, [2, 3, undefined]), 'datagrams');
});

t.test('chunks cut anywhere, with garbage before the stream: framed once', async (t) => {
  const rnd = prng(7);
  const junk = new Uint8Array(500).fill(0x33);
  const all = new Uint8Array(junk.length + ts.length);
  all.set(junk);
  all.set(ts, junk.length);
  const chunks: Uint8Array[] = [];
  for (let o = 0; o < all.length;) {
    const n = 1 + Math.floor(rnd() * 3000);
    chunks.push(all.subarray(o, o + n));
    o += n;
  }
  const r = new ServiceRouter([2, 3, undefined]);
  const got: Uint8Array[][] = [[], [], []];
  for (const c of chunks) r.route(c, (slot, b) => got[slot].push(...packets(b)));
  t.equal(r.bytesSkipped, 500, 'the garbage is dropped, once');
  check(t, got, 'cut chunks');
});

t.test('one long chunk (whole or cut): routed in pieces, the same packets', async (t) => {
  // ServiceRouter routes up to PIECE (87 packets) at a time; longer reads (a pipe, a tuner)
  // are routed piece after piece, whole packets or not.
  check(t, routeAll([ts], [2, 3, undefined]), 'one chunk of the whole stream');
  const odd = 188 * 300 + 77;
  check(
    t,
    routeAll([ts.subarray(0, odd), ts.subarray(odd)], [2, 3, undefined]),
    'two long chunks, the cut inside a packet',
  );
});

t.test('slots added while a packet is held: it reaches every slot whole', async (t) => {
  // More slots make the router's array grow; the bytes the framer holds (a packet astride
  // the chunks) move with it.
  const r = new ServiceRouter([undefined]);
  const got: Uint8Array[][] = [[], [], [], [], []];
  const cut = 188 * 40 + 100;
  r.route(ts.subarray(0, cut), (slot, b) => got[slot].push(...packets(b)));
  r.setServices([undefined, undefined, undefined, undefined, undefined]);
  r.route(ts.subarray(cut), (slot, b) => got[slot].push(...packets(b)));
  t.equal(got[0].length, input.length, 'the first slot: every packet');
  t.ok(
    got[0].every((p, i) => Buffer.compare(p, input[i]) === 0),
    'unchanged, in order, the one astride included',
  );
  t.ok(
    got.slice(1).every((g) => g.length === input.length - 40),
    'the new slots: every packet from the one astride on',
  );
});

t.test(
  'a new PMT version moves the program: the slot follows before the next packet',
  async (t) => {
    const a = synthesize({
      programs: [simpleProgram(5, 0x500, 0x1005)],
      durationMs: 500,
      muxRate: 2e6,
    });
    const b = synthesize({
      programs: [simpleProgram(5, 0x600, 0x1005)],
      durationMs: 500,
      muxRate: 2e6,
      startPcr: a.endPcr,
    });
    // The second stream's PMT keeps version 0: a changed table under the same version counts
    // as new too (TableCollector compares the sections).
    const bp = packets(b.ts);
    const r = new ServiceRouter([5, 6]);
    const got: Uint8Array[][] = [[], []];
    for (const c of [...packets(a.ts), ...bp])
      r.route(c, (slot, x) => got[slot].push(...packets(x)));
    const pids = pidsOf(got[0].slice(-50));
    t.ok(pids.has(0x600) && !pids.has(0x500), 'program 5 now on 0x600');
    t.ok(got[1].length > 0, 'a service not in the PAT: everything (its PMT never comes)');
  },
);

t.test('a slot gets the same view for the same length: nothing made per chunk', async (t) => {
  const r = new ServiceRouter([2, undefined]);
  const views = new Map<string, Set<Uint8Array>>();
  let calls = 0;
  for (let o = 0; o < ts.length; o += 1316)
    r.route(ts.subarray(o, o + 1316), (slot, b) => {
      calls++;
      const k = `${slot}:${b.length}`;
      if (!views.has(k)) views.set(k, new Set());
      views.get(k)!.add(b);
    });
  const distinct = [...views.values()].reduce((n, s) => n + s.size, 0);
  t.equal(distinct, views.size, `${calls} calls, ${views.size} views: one per slot and length`);
  t.ok(calls > 10 * views.size, 'each handed on again and again');
});
