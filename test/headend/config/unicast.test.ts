// The unicast keys of channels.yaml (issue 13): http.relay takes multicast subnets only,
// hls takes known ladder rungs and bounded segment/window values, logo is kept; each mistake
// is an error at its FILE:LINE:COLUMN and the file is refused.
import t from 'tap';
import { formatConfigError, loadConfigText } from '../../../src/headend/config/index.js';

const channel = (extra: string): string =>
  `channels:\n  - number: 1\n    name: A\n    output: udp://239.255.1.1:5000\n    source: { test: {} }\n${extra}`;

function errors(text: string): string {
  const r = loadConfigText(text, 'c.yaml', { interfaces: null });
  return 'errors' in r ? r.errors.map(formatConfigError).join('\n') : 'valid';
}

t.test('http.relay: multicast subnets only', async (t) => {
  t.match(
    errors(`headend:\n  http: { relay: [10.0.0.0/8] }\n${channel('')}`),
    /c\.yaml:2:\d+: .*not an IPv4 multicast subnet/,
  );
  t.match(
    errors(`headend:\n  http: { relay: [239.1.0.0/33] }\n${channel('')}`),
    /c\.yaml:2:\d+: .*prefix length/,
  );
  const ok = loadConfigText(
    `headend:\n  http: { relay: [239.1.0.0/16] }\n${channel('')}`,
    'c.yaml',
    { interfaces: null },
  );
  t.same('config' in ok && ok.config.http?.relay, [
    { address: '239.1.0.0', prefix: 16, family: 'ipv4' },
  ]);
  const any = loadConfigText(`headend:\n  http: { relay: true }\n${channel('')}`, 'c.yaml', {
    interfaces: null,
  });
  t.same('config' in any && any.config.http?.relay[0]?.prefix, 4, 'true: 224.0.0.0/4');
});

t.test('hls: rungs, segment and window checked; logo kept', async (t) => {
  t.match(
    errors(channel('    hls: { ladder: [4k] }\n')),
    /c\.yaml:6:\d+: .*expected a rung: 1080p/,
  );
  t.match(errors(channel('    hls: { segment: 30s }\n')), /c\.yaml:6:\d+: .*hls/);
  t.match(errors(channel('    hls: { window: 1 }\n')), /c\.yaml:6:\d+: .*hls/);
  const ok = loadConfigText(
    channel('    hls: { ladder: [360p, 360p], encrypt: true }\n    logo: http://x/l.png\n'),
    'c.yaml',
    { interfaces: null },
  );
  const c = 'config' in ok ? ok.config.channels[0] : undefined;
  t.same(
    c?.hls,
    { segmentMs: 2000, window: 6, ladder: ['360p'], encrypt: true },
    'defaults, rungs once',
  );
  t.equal(c?.logo, 'http://x/l.png');
});
