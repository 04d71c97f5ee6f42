// Fewer wake-ups for a UDP input: instead of waking the event loop for every datagram, the
// socket stops reading for a short pause after each batch and then takes everything that queued
// in the kernel meanwhile in one turn of the loop.
//
// Why: a transport stream arrives as an even trickle of datagrams (40 Mbit/s of 7-packet
// datagrams: 3,800 a second, one every 260 µs). Read as they come, each one costs an epoll
// wake-up, a recvmsg, a failed recvmsg and a turn of the event loop; measured on the bench's
// 8-service MPTS (bench/dvblast.ts), reading in 5 ms batches took the main thread's system time
// from ~4.3 % to ~1.3 % of a core and the daemon's total from ~19 % to ~15 %. The remuxer's
// timing comes from the stream's PCRs, not from arrival, so a few ms of batching changes
// nothing downstream; the channel's latency (hundreds of ms) absorbs it.
//
// How: after a turn of the loop that delivered datagrams (setImmediate runs after the poll
// phase's I/O callbacks), reading stops (uv_udp_recv_stop) and restarts `pauseMs` later. libuv
// reads at most 32 datagrams per readable event, so a turn that delivered 32 or more means the
// rate is above 32 per pause: then reading goes on without a pause, and the kernel's receive
// buffer never holds more than ~32 datagrams because of the batching (4 MiB asked; at 208 KiB,
// the default rmem_max, that is still ~90 datagrams of room).
//
// Node's dgram has no public pause: this uses the socket's libuv handle (recvStart/recvStop of
// its UDP wrap, reached through the socket's internal state symbol, Node 20). Where it cannot be
// found, batchReceive returns false and the socket reads each datagram as it comes.

import type { Socket } from 'node:dgram';

interface UdpHandle {
  recvStart(): number;
  recvStop(): number;
}

/** Libuv limit of datagrams read per readable event (uv__udp_recvmsg). */
const LIBUV_BATCH = 32;

function udpHandle(socket: Socket): UdpHandle | undefined {
  const sym = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  if (sym === undefined) return undefined;
  const state = (socket as unknown as Record<symbol, { handle?: Partial<UdpHandle> } | undefined>)[
    sym
  ];
  const h = state?.handle;
  if (typeof h?.recvStart !== 'function' || typeof h.recvStop !== 'function') return undefined;
  return h as UdpHandle;
}

/**
 * Reads `socket` (bound, with its 'message' listener) in batches `pauseMs` apart. Returns false
 * (and changes nothing) when the handle cannot be reached. Stops by itself when the socket
 * closes.
 */
export function batchReceive(socket: Socket, pauseMs: number): boolean {
  const handle = udpHandle(socket);
  if (handle === undefined || !(pauseMs > 0)) return false;
  let inTurn = 0;
  let armed = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const resume = (): void => {
    timer = undefined;
    if (!closed) handle.recvStart();
  };
  const endOfTurn = (): void => {
    armed = false;
    const n = inTurn;
    inTurn = 0;
    if (closed || n >= LIBUV_BATCH) return;
    handle.recvStop();
    timer = setTimeout(resume, pauseMs);
  };
  socket.on('message', () => {
    inTurn++;
    if (armed) return;
    armed = true;
    setImmediate(endOfTurn);
  });
  socket.once('close', () => {
    closed = true;
    if (timer !== undefined) clearTimeout(timer);
  });
  return true;
}
