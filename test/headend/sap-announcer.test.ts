// The SAP announcer (src/headend/sap.ts) on the wire: a plain receiver (node dgram joined to the
// SAP group on lo) decodes what it sends at start, on update() (hot reload) and on stop().
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { createSocket, type Socket } from 'node:dgram';
import { startSapAnnouncer } from '../../src/headend/sap.js';
import { createLogger } from '../../src/headend/log.js';
import { decodeSap, type SapMessage } from '../../src/headend/sap/packet.js';
import type { ChannelSpec } from '../../src/headend/config/types.js';
import { channelSpec } from '../helpers/channel-spec.js';

const GROUP = '239.255.255.255';
const PORT = 9875;

const spec = (
  number: number,
  name: string,
  slug: string,
  group: string,
  protocol: 'udp' | 'rtp',
): ChannelSpec => channelSpec(number, name, slug, group, { protocol, ttl: 3 });

class Receiver {
  readonly messages: SapMessage[] = [];
  readonly ttls: number[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];
  constructor(readonly socket: Socket) {
    socket.on('message', (buf) => {
      const m = decodeSap(buf);
      if (typeof m === 'string') throw new Error(`undecodable SAP packet: ${m}`);
      this.messages.push(m);
      this.waiters = this.waiters.filter((w) => {
        if (this.messages.length < w.n) return true;
        w.resolve();
        return false;
      });
    });
  }
  /** Resolves once `n` messages in total have arrived. */
  until(n: number): Promise<void> {
    if (this.messages.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }
}

async function openReceiver(): Promise<Receiver> {
  const s = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((r) => s.bind(PORT, r));
  s.addMembership(GROUP, '127.0.0.1');
  return new Receiver(s);
}

const sdpName = (m: SapMessage): string | undefined => /\r\ns=([^\r\n]*)\r\n/.exec(m.payload)?.[1];

t.test('announces, updates with deletions first, deletes everything on stop', async (t) => {
  const rx = await openReceiver();
  t.teardown(() => rx.socket.close());
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  let channels = [
    spec(101, 'News', 'news', '239.255.50.1', 'udp'),
    spec(102, 'Sport', 'sport', '239.255.50.2', 'rtp'),
    spec(103, 'Unicast', 'unicast', '127.0.0.1', 'udp'),
  ];
  const sap = await startSapAnnouncer({
    spec: { address: GROUP, port: PORT, ttl: 2 },
    interface: '127.0.0.1',
    log,
    channels: () => channels,
  });
  t.equal(sap.name, 'sap');

  await rx.until(2);
  const first = rx.messages.slice(0, 2);
  t.same(first.map(sdpName).sort(), ['News', 'Sport'], 'multicast channels only');
  for (const m of first) {
    t.equal(m.deletion, false);
    t.equal(m.source, '127.0.0.1', 'origin = the egress address');
    t.equal(m.payloadType, 'application/sdp');
    t.match(m.payload, /^v=0\r\no=- \d+ \d+ IN IP4 127\.0\.0\.1\r\n/);
    t.match(m.payload, /\r\nc=IN IP4 239\.255\.50\.[12]\/3\r\n/, 'c= with the output TTL');
  }
  const news = first.find((m) => sdpName(m) === 'News')!;
  const sport = first.find((m) => sdpName(m) === 'Sport')!;
  t.match(news.payload, /m=video 5000 udp mpeg/);
  t.match(sport.payload, /m=video 5000 RTP\/AVP 33/);

  // Hot reload: News renamed (delete old + announce new), Sport removed, Weather added.
  channels = [
    spec(101, 'News 24', 'news', '239.255.50.1', 'udp'),
    spec(104, 'Weather', 'weather', '239.255.50.4', 'udp'),
  ];
  sap.update();
  await rx.until(6);
  const upd = rx.messages.slice(2, 6);
  const deletions = upd.filter((m) => m.deletion);
  const announces = upd.filter((m) => !m.deletion);
  t.same(
    deletions.map((m) => m.msgIdHash).sort(),
    [news.msgIdHash, sport.msgIdHash].sort(),
    'deletions carry the hashes of the old announcements',
  );
  for (const d of deletions) t.match(d.payload, /^o=- \d+ \d+ IN IP4 127\.0\.0\.1\r\n$/);
  t.same(announces.map(sdpName).sort(), ['News 24', 'Weather']);
  t.not(announces.find((m) => sdpName(m) === 'News 24')!.msgIdHash, news.msgIdHash);

  sap.update(); // nothing changed: nothing sent
  await sap.stop();
  await rx.until(8);
  const last = rx.messages.slice(6);
  t.equal(rx.messages.length, 8, 'an update without change sent nothing');
  t.ok(last.every((m) => m.deletion));
  t.same(
    last.map((m) => m.msgIdHash).sort(),
    announces.map((m) => m.msgIdHash).sort(),
    'stop deletes the live sessions',
  );
  t.ok(lines.some((l) => l.event === 'sap-started'));
});

t.test('an unknown egress interface is an E_NET error', async (t) => {
  await t.rejects(
    startSapAnnouncer({
      spec: { address: GROUP, port: PORT, ttl: 1 },
      interface: 'no-such-if0',
      log: createLogger({ write: () => {} }),
      channels: () => [],
    }),
    { code: 'E_NET' },
  );
});
