// A channel taken over by another node (issue 14): the new node's remuxer starts from the SI
// the old owner stored in etcd (cluster/identity.ts, Remuxer.continueFrom). It must send the
// versions receivers hold (not start them again), continue the PSI continuity counters, and
// flag its first PCR with discontinuity_indicator (ISO/IEC 13818-1 §2.4.3.5), its only one.
import t from 'tap';
import { Remuxer } from '../../../src/mpegts/remux/remuxer.js';
import { decodeIdentity, encodeIdentity } from '../../../src/headend/cluster/identity.js';
import { synthesize, simpleProgram } from '../../helpers/synth.js';
import { checkStream, collector } from '../../helpers/ts-check.js';
import { concatBytes } from '../../../src/mpegts/psi/section.js';
import { discontinuityIndicator, getPid, hasPcr } from '../../../src/mpegts/packet.js';

const { ts } = synthesize({
  programs: [simpleProgram(1, 0x100, 0x1000)],
  durationMs: 3000,
  muxRate: 3e6,
  pcrIntervalMs: 30,
  withSdt: true,
});
const HALF = Math.floor(ts.length / 188 / 2) * 188;
const OPTS = { serviceName: 'News', cbrBitrate: 4e6, pcrAlign: 7 };

/** The old owner: the first half, renamed twice (its SDT two versions on), then its identity. */
function oldOwner() {
  const out = collector();
  const a = new Remuxer(OPTS, out.sink);
  a.push(ts.subarray(0, HALF / 2));
  a.setIdentity({ serviceName: 'Renamed' });
  a.push(ts.subarray(HALF / 2, (3 * HALF) / 4));
  a.setIdentity({ serviceName: 'News' });
  a.push(ts.subarray((3 * HALF) / 4, HALF));
  return { a, bytes: out.bytes(), text: encodeIdentity(a.psiState()) };
}

/** The new owner: a fresh remuxer fed the second half, from the stored identity or not. */
function newOwner(text: string | null) {
  const out = collector();
  const b = new Remuxer(OPTS, out.sink);
  if (text !== null) {
    const s = decodeIdentity(text);
    if ('error' in s) throw new Error(s.error);
    b.continueFrom(s);
    b.setIdentity({ serviceName: 'News' });
  }
  // The new node's source takes a moment to start: the output is filled meanwhile.
  b.idle(300);
  for (let o = HALF; o < ts.length; o += 1316)
    b.push(ts.subarray(o, Math.min(ts.length, o + 1316)));
  b.end();
  return { b, bytes: out.bytes() };
}

const versions = (r: Remuxer) => {
  const s = r.psiState();
  return { pat: s.pat.version, pmt: s.pmt.version, sdt: s.sdt?.version };
};

t.test('the identity survives its text form', async (t) => {
  const { a, text } = oldOwner();
  const back = decodeIdentity(text);
  if ('error' in back) throw new Error(back.error);
  t.ok(back.pat.packets instanceof Uint8Array, 'bytes come back as bytes');
  t.same(back.pmt.packets, a.psiState().pmt.packets, 'the PMT as sent');
  t.same(back.program, a.psiState().program, 'the program and its streams');
  t.equal(encodeIdentity(back), text, 'and back to the same text');
  t.equal(encodeIdentity(a.psiState()), text, 'the same state, the same text (written once)');
  t.match(decodeIdentity('{"x":1}'), { error: /not an output identity/ });
  t.match(decodeIdentity('nope'), { error: /not JSON/ });
});

t.test('the new owner sends the versions receivers hold', async (t) => {
  const old = oldOwner();
  t.ok((versions(old.a).sdt ?? 0) >= 2, 'the old owner had renamed the service twice');
  const fresh = newOwner(null);
  t.not(versions(fresh.b).sdt, versions(old.a).sdt, 'without it: the versions start again');
  const taken = newOwner(old.text);
  t.same(versions(taken.b), versions(old.a), 'with it: PAT, PMT and SDT versions as they were');
  const joined = concatBytes([old.bytes, taken.bytes]);
  const chk = checkStream(joined, 0x100, 0x1000);
  t.equal(chk.discontinuities, 1, 'one discontinuity_indicator in the whole recording');
  // It is on the new owner's first PCR.
  const first = (() => {
    for (let o = 0; o < taken.bytes.length; o += 188) if (hasPcr(taken.bytes, o)) return o;
    return -1;
  })();
  t.ok(first >= 0 && discontinuityIndicator(taken.bytes, first), 'on the first PCR it sends');
  const pids = new Set<number>();
  for (let o = 0; o < joined.length; o += 188) pids.add(getPid(joined, o));
  pids.delete(0x1fff);
  t.ok(
    chk.ccErrors <= pids.size,
    `${chk.ccErrors} CC errors ≤ one per PID (${pids.size}): the PSI counters carry on`,
  );
  const freshChk = checkStream(concatBytes([old.bytes, fresh.bytes]), 0x100, 0x1000);
  t.equal(freshChk.discontinuities, 0, 'a plain start flags nothing (the control)');
});
