// A slow RTP-over-TCP client never slows anyone else (issue 4): a client that stops reading
// fills its session's bounded buffer, its packets are dropped and counted, and after
// dropDisconnectMs of dropping it is disconnected — while a client reading normally on the
// same channel gets every packet. The channel source here is a stub whose tap emits datagrams
// on a timer (no media needed: the server forwards bytes); it stands in for the daemon.
import '../../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { createLogger } from '../../../src/headend/log.js';
import { startRtspServer } from '../../../src/headend/rtsp/server.js';
import type {
  DatagramListener,
  RtpDestination,
  RtspChannelSource,
} from '../../../src/headend/rtsp/types.js';
import { sleep } from '../../e2e/helpers.js';
import { Client, StubSource } from './raw-client.js';

/** The stub's channels, with a tap that emits datagrams when told to. */
class TimedSource implements RtspChannelSource {
  private readonly stub = new StubSource();
  readonly listeners = new Set<DatagramListener>();
  emitted = 0;
  private readonly dg = new Uint8Array(1316).fill(0x47);
  private pcr = 0;
  channels = () => this.stub.channels();
  addDestination = (slug: string, d: RtpDestination) => this.stub.addDestination(slug, d);
  removeDestination = (slug: string, id: string) => this.stub.removeDestination(slug, id);
  rtpState = () => this.stub.rtpState();
  tap = (_slug: string, l: DatagramListener) => {
    this.listeners.add(l);
    return () => void this.listeners.delete(l);
  };
  /** `n` datagrams now (to every tapped session). */
  emit(n: number): void {
    for (let i = 0; i < n; i++) {
      this.pcr += 27_000;
      this.emitted++;
      for (const l of this.listeners) l(this.dg, this.pcr, 0);
    }
  }
}

t.test('a client that stops reading is dropped, then disconnected; others unharmed', async (t) => {
  const source = new TimedSource();
  const server = await startRtspServer({
    spec: {
      listen: { host: '127.0.0.1', port: 0 },
      rtpPort: 18100,
      companionOffset: 0,
      sessionTimeoutMs: 30_000,
      maxSessions: 50,
      maxSessionsPerClient: 10,
    },
    source,
    log: createLogger({ write: () => undefined }),
    limits: { maxBufferedBytes: 256 * 1024, dropDisconnectMs: 1500 },
  });
  t.teardown(() => server.stop());
  const base = `rtsp://127.0.0.1:${server.address.port}/seven`;
  const play = async (c: Client): Promise<void> => {
    const s = await c.request('SETUP', `${base}/track1`, 1, [
      'Transport: RTP/AVP/TCP;interleaved=0-1',
    ]);
    t.equal(s.status, 200, 'SETUP over TCP');
    const session = (s.headers.get('session') ?? '').split(';')[0];
    t.equal((await c.request('PLAY', base, 2, [`Session: ${session}`])).status, 200, 'PLAY');
  };
  const fast = await Client.open(server);
  const slow = await Client.open(server);
  t.teardown(() => fast.socket.destroy());
  t.teardown(() => slow.socket.destroy());
  await play(fast);
  await play(slow);
  // From now on the fast client only counts bytes; the slow one reads nothing at all.
  let fastBytes = 0;
  fast.socket.removeAllListeners('data');
  fast.socket.on(
    'data',
    (d: string | Buffer) => (fastBytes += Buffer.byteLength(d as string, 'latin1')),
  );
  slow.socket.pause();
  const frame = 4 + 12 + 1316; // '$', channel, length; RTP header; 7 TS packets
  const start = source.emitted;
  // ~40 Mbit/s in bursts well inside the per-session buffer, until the server gives up on the
  // slow client (its socket buffers fill first, then the server's bounded buffer).
  for (let i = 0; i < 1000 && server.stats().tcpDisconnects === 0; i++) {
    source.emit(38);
    await sleep(10);
  }
  for (let i = 0; i < 50; i++) {
    source.emit(38);
    await sleep(10);
  }
  await sleep(300);
  const sent = source.emitted - start;
  const st = server.stats();
  slow.socket.resume(); // its 'close' comes once the bytes it holds are read
  for (let i = 0; i < 100 && !slow.closed; i++) await sleep(20);
  t.ok(slow.closed, 'the slow client was disconnected');
  t.ok(st.tcpDropped > 0, `its packets were dropped and counted (${st.tcpDropped})`);
  t.ok(st.tcpDisconnects >= 1, 'the disconnect is counted');
  // (Beside the RTP frames it got a few RTCP sender reports on channel 1, ~60 bytes each.)
  t.equal(
    Math.floor(fastBytes / frame),
    sent,
    `the reading client got all ${sent} packets meanwhile`,
  );
  t.equal(server.sessions().tcp, 1, 'the reading client still plays');
});
