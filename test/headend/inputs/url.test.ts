import t from 'tap';
import { isHeadendError } from '../../../src/headend/errors.js';
import { parseInputAddress } from '../../../src/headend/inputs/url.js';

t.test('files', async (t) => {
  t.same(parseInputAddress('samples/sample.ts'), { kind: 'file', path: 'samples/sample.ts' });
  t.same(parseInputAddress('/tmp/a b.ts'), { kind: 'file', path: '/tmp/a b.ts' });
  t.same(parseInputAddress('file:///tmp/x.ts'), { kind: 'file', path: '/tmp/x.ts' });
});

t.test('network forms', async (t) => {
  const cases: [string, object][] = [
    [
      'udp://@239.255.0.1:5000',
      { protocol: 'udp', address: '239.255.0.1', port: 5000, multicast: true, source: undefined },
    ],
    ['udp://239.255.0.1:5000', { address: '239.255.0.1', multicast: true }],
    [
      'udp://10.0.0.9@232.1.1.1:1234',
      { address: '232.1.1.1', port: 1234, multicast: true, source: '10.0.0.9' },
    ],
    ['udp://127.0.0.1:5000', { address: '127.0.0.1', multicast: false }],
    ['udp://@:5000', { address: '', port: 5000, multicast: false }],
    ['udp://:5000', { address: '', port: 5000, multicast: false }],
    ['rtp://@239.1.1.1:5004', { protocol: 'rtp', address: '239.1.1.1', port: 5004 }],
    ['RTP://@239.1.1.1:5004/', { protocol: 'rtp', address: '239.1.1.1' }],
    [
      'udp://@239.1.1.1:5000?interface=127.0.0.1&reuse=0',
      { interfaceAddress: '127.0.0.1', reuseAddr: false },
    ],
    ['udp://@239.1.1.1:5000?localaddr=10.1.1.1', { interfaceAddress: '10.1.1.1', reuseAddr: true }],
  ];
  for (const [url, want] of cases) {
    const a = parseInputAddress(url);
    t.match(a, { kind: 'network', url, ...want }, url);
  }
  const plain = parseInputAddress('udp://@239.1.1.1:5000');
  t.notOk('source' in (plain as object), 'no source key without SSM');
});

t.test('bad inputs are E_BAD_URL with a reason', async (t) => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['http://x/y.ts', /unsupported scheme 'http:\/\/'/],
    ['udp://239.1.1.1', /expected udp:\/\/\[source@\]address:port/],
    ['udp://@239.1.1.1:0', /port 0 is outside/],
    ['udp://@239.1.1.1:70000', /port 70000 is outside/],
    ['udp://@999.1.1.1:5000', /'999\.1\.1\.1' is not an IPv4 address/],
    ['udp://@example.com:5000', /not an IPv4 address/],
    ['udp://host@239.1.1.1:5000', /source 'host' is not an IPv4/],
    ['udp://10.0.0.1@10.0.0.2:5000', /needs a multicast group/],
    ['udp://@239.1.1.1:5000?iface=lo', /unknown parameter 'iface'/],
    ['udp://@239.1.1.1:5000?interface=lo', /interface=lo is not an IPv4/],
    ['udp://@239.1.1.1:5000?reuse=yes', /reuse must be 0 or 1/],
  ];
  for (const [text, re] of cases) {
    const a = parseInputAddress(text);
    t.ok(isHeadendError(a), text);
    if (isHeadendError(a)) {
      t.equal(a.code, 'E_BAD_URL');
      t.match(a.message, re, text);
    }
  }
});
