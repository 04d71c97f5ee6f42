// headend.cluster and the per-channel prefer/avoid keys (issue 14): defaults, the node name
// from HEADEND_NODE over the file, and each mistake named at its FILE:LINE:COLUMN.
import t from 'tap';
import { formatConfigError, loadConfigText } from '../../../src/headend/config/index.js';
import { diffChannels, restartRequired } from '../../../src/headend/reload/config-diff.js';

const channel = (extra = ''): string =>
  `channels:\n  - number: 1\n    name: A\n    output: udp://239.255.1.1:5000\n    source: { test: {} }\n${extra}`;
const load = (text: string) => loadConfigText(text, 'c.yaml', { interfaces: null });
function errors(text: string): string {
  const r = load(text);
  return 'errors' in r ? r.errors.map(formatConfigError).join('\n') : 'valid';
}

t.test('defaults', async (t) => {
  const saved = process.env.HEADEND_NODE;
  t.teardown(() => {
    if (saved === undefined) delete process.env.HEADEND_NODE;
    else process.env.HEADEND_NODE = saved;
  });
  delete process.env.HEADEND_NODE;
  const r = load(`headend:\n  cluster: { etcd: http://10.0.0.1:2379, node: box-a }\n${channel()}`);
  t.ok('config' in r);
  if (!('config' in r)) return;
  t.same(r.config.cluster, {
    etcd: ['http://10.0.0.1:2379'],
    node: 'box-a',
    ttlMs: 5000,
    capacity: {},
    prefix: '/headend',
    config: 'file',
    handback: { kind: 'quiet', ms: 60_000 },
    standaloneFallback: false,
  });
  process.env.HEADEND_NODE = 'from-env';
  const e = load(`headend:\n  cluster: { etcd: http://e:2379, node: box-a }\n${channel()}`);
  t.equal('config' in e && e.config.cluster?.node, 'from-env', 'the environment wins');
  const none = load(channel());
  t.equal('config' in none && none.config.cluster, null, 'off unless given');
  const daily = load(
    `headend:\n  cluster: { etcd: [http://e:2379], handback: '04:30', capacity: { a: 2 }, config: etcd }\n${channel()}`,
  );
  t.same('config' in daily && daily.config.cluster?.handback, { kind: 'daily', minute: 270 });
  t.same('config' in daily && daily.config.cluster?.capacity, { a: 2 });
  const never = load(
    `headend:\n  cluster: { etcd: [http://e:2379], handback: never }\n${channel()}`,
  );
  t.same('config' in never && never.config.cluster?.handback, { kind: 'never' });
});

t.test('mistakes at their position', async (t) => {
  t.match(
    errors(`headend:\n  cluster: { etcd: [ftp://x:1] }\n${channel()}`),
    /c\.yaml:2:\d+: .*http:\/\/ or https:\/\//,
  );
  t.match(errors(`headend:\n  cluster: { node: a }\n${channel()}`), /c\.yaml:2:\d+: .*etcd/);
  t.match(
    errors(`headend:\n  cluster: { etcd: [http://e:2379], node: 'a b' }\n${channel()}`),
    /c\.yaml:2:\d+: .*node name/,
  );
  t.match(
    errors(`headend:\n  cluster: { etcd: [http://e:2379], ttl: 1s }\n${channel()}`),
    /c\.yaml:2:\d+/,
  );
  t.match(
    errors(`headend:\n  cluster: { etcd: [http://e:2379], handback: '25:00' }\n${channel()}`),
    /c\.yaml:2:\d+: .*HH:MM/,
  );
  t.match(errors(channel('    prefer: [ok, "bad name"]\n')), /c\.yaml:6:\d+: .*node name/);
  t.match(
    errors(`headend:\n  cluster: { etcd: [http://e:2379], capacity: { a: 0 } }\n${channel()}`),
    /c\.yaml:2:\d+: .*capacity from 0\.1 to 1000, got 0/,
  );
  t.match(
    errors(`headend:\n  cluster: { etcd: [http://e:2379], ttls: 5s }\n${channel()}`),
    /c\.yaml:2:\d+: .*ttls.*ttl/s,
  );
});

t.test('prefer and avoid: kept, and a reload that changes them restarts nothing', async (t) => {
  const a = load(channel('    prefer: box-a\n    avoid: [box-c]\n'));
  const b = load(channel('    prefer: [box-b]\n'));
  if (!('config' in a) || !('config' in b)) return t.fail('valid');
  t.same(a.config.channels[0]!.prefer, ['box-a'], 'one name needs no list');
  t.same(a.config.channels[0]!.avoid, ['box-c']);
  const d = diffChannels(a.config.channels, b.config.channels);
  t.equal(d.unchanged.length, 1, 'unchanged: placement reads them, nothing running does');
  const c = load(`headend:\n  cluster: { etcd: [http://e:2379] }\n${channel()}`);
  if (!('config' in c)) return t.fail('valid');
  t.same(restartRequired(a.config, c.config), ['cluster'], 'joining a cluster needs a restart');
});
