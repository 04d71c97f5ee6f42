// Cluster mode's edges (issue 14), on loopback with one etcd member: nodes whose
// channels.yaml differ (config: file) — the odd one says so (cluster-config-mismatch) and
// claims nothing; etcd unreachable at start — the node says so (cluster-waiting) and runs
// nothing, or with standalone_fallback runs every channel alone (cluster-standalone).
import t from 'tap';
import '../helpers/private-network.js';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { sleep, startDaemon, tempDir } from './helpers.js';

const etcdMissing = spawnSync('etcd', ['--version']).error !== undefined;
const ETCD = 'http://127.0.0.1:23791';

const config = (o: { etcd: string; name2?: string; extra?: string }): string =>
  [
    'headend:',
    '  http: false',
    '  rtsp: false',
    '  cluster:',
    `    etcd: ${o.etcd}`,
    '    ttl: 2s',
    ...(o.extra ? [o.extra] : []),
    'channels:',
    '  - number: 1',
    '    name: One',
    '    output: udp://239.255.41.1:5000',
    '    source: { test: { pattern: smpte, resolution: 160x90, rate: 10, bitrate: 150k } }',
    '  - number: 2',
    `    name: ${o.name2 ?? 'Two'}`,
    '    slug: two',
    '    output: udp://239.255.41.2:5000',
    '    source: { test: { pattern: testsrc, resolution: 160x90, rate: 10, bitrate: 150k } }',
  ].join('\n') + '\n';

t.test('nodes whose files differ', { skip: etcdMissing && 'etcd is not installed' }, async (t) => {
  const dir = tempDir(t);
  const etcd = spawn(
    'etcd',
    [
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${ETCD}`,
      `--advertise-client-urls=${ETCD}`,
      '--listen-peer-urls=http://127.0.0.1:23801',
      '--initial-advertise-peer-urls=http://127.0.0.1:23801',
      '--initial-cluster=default=http://127.0.0.1:23801',
    ],
    { stdio: 'ignore' },
  );
  t.teardown(() => void etcd.kill('SIGKILL'));
  // A quick hand-back: were b in agreement, a would hand it a channel 2 s after it joined.
  const quick = '    handback: 2s';
  const a = startDaemon(t, { text: config({ etcd: ETCD, extra: quick }) }, { HEADEND_NODE: 'a' });
  await a.waitFor((e) => e.event === 'cluster-owns', 20_000);
  const b = startDaemon(
    t,
    { text: config({ etcd: ETCD, name2: 'Renamed', extra: quick }) },
    { HEADEND_NODE: 'b' },
  );
  await b.waitFor((e) => e.event === 'cluster-joined', 10_000);
  const said = await b.waitFor((e) => e.event === 'cluster-config-mismatch', 12_000);
  t.match(
    String(said.message),
    /differs from the one the cluster runs .* claims no channel/,
    `b says so: ${String(said.message)}`,
  );
  t.notOk(
    b.events.some((e) => e.event === 'cluster-owns'),
    'b claims nothing (the hand-back would otherwise have given it a channel by now)',
  );
  t.equal(a.events.filter((e) => e.event === 'cluster-handback').length, 0, 'a hands nothing to b');
  await b.stop();
  // The control: the same node with the cluster's file gets its share by the hand-back.
  const b2 = startDaemon(t, { text: config({ etcd: ETCD, extra: quick }) }, { HEADEND_NODE: 'b' });
  const owns = await b2.waitFor((e) => e.event === 'cluster-owns', 15_000).catch(() => null);
  t.ok(owns, `with the same file it is given a channel (${JSON.stringify(owns?.taken)})`);
  await b2.stop();
  await a.stop();
});

t.test('etcd unreachable at start', async (t) => {
  const nowhere = 'http://127.0.0.1:1';
  const waits = startDaemon(t, { text: config({ etcd: nowhere }) }, { HEADEND_NODE: 'w' });
  const said = await waits.waitFor((e) => e.event === 'cluster-waiting', 15_000);
  t.match(String(said.message), /etcd cannot be reached .* no channel runs/, 'it says so');
  await sleep(2500);
  t.notOk(
    waits.events.some((e) => e.event === 'channel-start'),
    'and runs nothing (standalone_fallback is off by default)',
  );
  await waits.stop();
  const alone = startDaemon(
    t,
    { text: config({ etcd: nowhere, extra: '    standalone_fallback: true' }) },
    { HEADEND_NODE: 's' },
  );
  await alone.waitFor((e) => e.event === 'cluster-standalone', 15_000);
  const started = await alone.waitFor((e) => e.event === 'channel-start', 10_000);
  t.ok(started, 'standalone_fallback: true runs the channels alone');
  await alone.stop();
});
