// The RTSP Transport header (RFC 2326 §12.39; RFC 7826 §18.54): parsing the client's list of
// acceptable transports, choosing the first one we serve, and writing the answer.
//
//   Transport = "Transport" ":" 1#transport-spec
//   transport-spec = transport-protocol "/" profile ["/" lower-transport] *(";" parameter)
//     RTP/AVP            RTP over UDP (lower transport defaults to UDP)
//     RTP/AVP/TCP        RTP interleaved on the RTSP connection (§10.12)
//   parameters: unicast | multicast | destination[=addr] | ttl=n | port=a[-b] |
//               client_port=a[-b] | server_port=a[-b] | interleaved=a[-b] | ssrc=hex | mode=...
//
// We serve three: RTP/AVP;unicast;client_port=a-b, RTP/AVP;multicast, RTP/AVP/TCP;interleaved.

export type TransportKind = 'udp' | 'tcp' | 'multicast';

export interface TransportRequest {
  kind: TransportKind;
  /** UDP: the client's RTP and RTCP ports. */
  clientPorts?: [number, number];
  /** TCP: the interleaved channels for RTP and RTCP (default 0-1). */
  interleaved?: [number, number];
  /** mode=record (we only play). */
  record: boolean;
}

/**
 * The first transport spec in the header we can serve, or undefined (461 Unsupported
 * Transport). `destination=` is ignored for unicast: the stream goes only to the address the
 * request came from (RFC 2326 §12.39 warns that anything else lets a client aim it at a third
 * party).
 */
export function chooseTransport(header: string): TransportRequest | undefined {
  for (const spec of header.split(',')) {
    const t = parseSpec(spec);
    if (t !== undefined && !t.record) return t;
  }
  return undefined;
}

function parseSpec(spec: string): TransportRequest | undefined {
  const parts = spec
    .trim()
    .split(';')
    .map((p) => p.trim());
  const proto = parts[0].toUpperCase();
  let lower: 'udp' | 'tcp';
  if (proto === 'RTP/AVP' || proto === 'RTP/AVP/UDP') lower = 'udp';
  else if (proto === 'RTP/AVP/TCP') lower = 'tcp';
  else return undefined;
  let multicast = false;
  let clientPorts: [number, number] | undefined;
  let interleaved: [number, number] | undefined;
  let record = false;
  for (const p of parts.slice(1)) {
    const eq = p.indexOf('=');
    const name = (eq < 0 ? p : p.slice(0, eq)).toLowerCase();
    const value = eq < 0 ? '' : p.slice(eq + 1);
    if (name === 'multicast') multicast = true;
    else if (name === 'unicast') multicast = false;
    else if (name === 'client_port') {
      clientPorts = range(value, 1, 65535);
      if (clientPorts === undefined) return undefined;
    } else if (name === 'interleaved') {
      interleaved = range(value, 0, 255);
      if (interleaved === undefined) return undefined;
    } else if (name === 'mode') record = /record/i.test(value);
  }
  if (lower === 'tcp') {
    if (multicast) return undefined;
    return { kind: 'tcp', interleaved: interleaved ?? [0, 1], record };
  }
  if (multicast) return { kind: 'multicast', record };
  if (clientPorts === undefined) return undefined; // unicast UDP needs somewhere to send
  return { kind: 'udp', clientPorts, record };
}

/** "a" or "a-b" within [min, max]; a single value n means n and n+1 (RFC 2326 §12.39). */
function range(v: string, min: number, max: number): [number, number] | undefined {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(v.replace(/"/g, ''));
  if (m === null) return undefined;
  const a = Number(m[1]);
  const b = m[2] === undefined ? a + 1 : Number(m[2]);
  if (a < min || a > max || b < min || b > max + 1) return undefined;
  return [a, b];
}

export type TransportAnswer =
  | { kind: 'udp'; clientPorts: [number, number]; serverPorts: [number, number]; ssrc?: number }
  | { kind: 'tcp'; interleaved: [number, number]; ssrc: number }
  | { kind: 'multicast'; group: string; port: number; ttl: number; ssrc?: number };

/** The Transport header of the SETUP response. */
export function formatTransport(a: TransportAnswer): string {
  const ssrc =
    a.ssrc === undefined ? '' : `;ssrc=${a.ssrc.toString(16).toUpperCase().padStart(8, '0')}`;
  switch (a.kind) {
    case 'udp':
      return (
        `RTP/AVP;unicast;client_port=${a.clientPorts[0]}-${a.clientPorts[1]}` +
        `;server_port=${a.serverPorts[0]}-${a.serverPorts[1]}${ssrc}`
      );
    case 'tcp':
      return `RTP/AVP/TCP;unicast;interleaved=${a.interleaved[0]}-${a.interleaved[1]}${ssrc}`;
    case 'multicast':
      return (
        `RTP/AVP;multicast;destination=${a.group};port=${a.port}-${a.port + 1}` +
        `;ttl=${a.ttl}${ssrc}`
      );
  }
}
