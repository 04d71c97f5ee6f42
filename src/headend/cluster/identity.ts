// A channel's output SI as text for etcd (identity/<slug>): what its owner sends now (PAT,
// PMT, SDT and EIT p/f with their versions and counters, the program and its PIDs), kept so
// that the node that takes the channel over sends the versions receivers already hold
// (Remuxer.continueFrom) instead of starting them again. Byte arrays travel as base64.

import type { OutputSi } from '../../mpegts/remux/output-psi.js';

const BYTES = '$b64';

/** The state as JSON text (stable for equal states: the owner writes only on a change). */
export function encodeIdentity(s: OutputSi): string {
  return JSON.stringify(s, (_k, v: unknown) =>
    v instanceof Uint8Array ? { [BYTES]: Buffer.from(v).toString('base64') } : v,
  );
}

/** The state back from encodeIdentity's text; null (with the reason) when it is not one. */
export function decodeIdentity(text: string): OutputSi | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(text, (_k, x: unknown) =>
      x !== null && typeof x === 'object' && BYTES in x
        ? new Uint8Array(Buffer.from(String((x as Record<string, unknown>)[BYTES]), 'base64'))
        : x,
    );
  } catch (err) {
    return { error: `not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  const s = v as Partial<OutputSi> | null;
  if (!s || typeof s !== 'object' || !s.pat || !s.pmt || !s.network || !s.identity)
    return { error: 'not an output identity (pat, pmt, network, identity missing)' };
  return s as OutputSi;
}
