// The client's RTP/RTCP port pair for a unicast SETUP: RTP on an even port, RTCP on the next
// odd one (RFC 3550 §11; RFC 2326 §12.39 client_port=a-b), both bound to the address the
// RTSP connection leaves from (the one the server can reach). Ephemeral ports are taken from
// the kernel; a pair whose partner is taken is given back and another tried.

import { createSocket, type Socket } from 'node:dgram';
import { fromSystemError, headendError, type HeadendError } from '../../errors.js';

/** Receive buffer asked for (the kernel caps it at net.core.rmem_max). */
const RECV_BUFFER = 4 << 20;

export interface RtpPorts {
  rtp: Socket;
  rtcp: Socket;
  /** The RTP port (even); RTCP is port + 1. */
  port: number;
}

export async function bindRtpPair(
  address: string,
  attempts = 20,
): Promise<RtpPorts | HeadendError> {
  for (let i = 0; i < attempts; i++) {
    const a = await bind(address, 0);
    if (!('address' in a))
      return fromSystemError('E_NET', `cannot bind an RTP port on ${address}`, a.error);
    const port = a.address().port;
    const even = port % 2 === 0;
    const b = await bind(address, even ? port + 1 : port - 1);
    if (!('address' in b)) {
      a.close();
      continue;
    }
    return even ? { rtp: a, rtcp: b, port } : { rtp: b, rtcp: a, port: port - 1 };
  }
  return headendError(
    'E_NET',
    `no free even/odd UDP port pair on ${address} after ${attempts} tries`,
  );
}

/** Closes both sockets; resolves when they are closed. */
export function closeRtpPair(p: RtpPorts): Promise<void> {
  return Promise.all([close(p.rtp), close(p.rtcp)]).then(() => undefined);
}

function bind(address: string, port: number): Promise<Socket | { error: unknown }> {
  return new Promise((resolve) => {
    const s = createSocket({ type: 'udp4' });
    const onError = (error: unknown): void => {
      s.close();
      resolve({ error });
    };
    s.once('error', onError);
    s.bind({ port, address, exclusive: true }, () => {
      s.off('error', onError);
      try {
        s.setRecvBufferSize(RECV_BUFFER);
      } catch {
        // capped or refused: the default buffer will do
      }
      resolve(s);
    });
  });
}

function close(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      s.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}
