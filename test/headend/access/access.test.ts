// headend.access (config/access.ts) and how it is applied (access/policy.ts, access/guard.ts):
// packages of channels by number or slug, subnets (the most specific wins), bearer tokens from
// a file that must be mode 0600 (never in a message), the default; errors at FILE:LINE:COLUMN;
// decisions for streams, lists and writes; 401 when a token is wanted, 403 for a bad one or no
// grant, 429 after ten bad tokens a minute; each denial counted, logged once a minute.
import t from 'tap';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  formatConfigError,
  loadConfigText,
  type HeadendSpec,
} from '../../../src/headend/config/index.js';
import { AccessPolicy } from '../../../src/headend/access/policy.js';
import { AccessGuard, requestToken, withoutToken } from '../../../src/headend/access/guard.js';
import type { LogFields, Logger, LogLevel } from '../../../src/headend/log.js';

const dir = mkdtempSync(join(tmpdir(), 'access-test-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN_A = 'aaaaaaaaaaaaaaaaaaaaaaaa';
const TOKEN_S = 'ssssssssssssssssssssssss';
const tokens = join(dir, 'tokens');
writeFileSync(tokens, `# who token grants\nalice ${TOKEN_A} rooms\nstaff ${TOKEN_S} all,write\n`);
chmodSync(tokens, 0o600);

const channels = [101, 102, 103]
  .map(
    (n) =>
      `  - number: ${n}\n    name: C${n}\n    output: udp://239.255.1.${n - 100}:5000\n` +
      `    source: { test: {} }\n`,
  )
  .join('');

function load(access: string): ReturnType<typeof loadConfigText> {
  return loadConfigText(
    `headend:\n  access:\n${access}channels:\n${channels}`,
    join(dir, 'c.yaml'),
    {
      interfaces: null,
    },
  );
}

function ok(access: string): HeadendSpec {
  const r = load(access);
  if ('errors' in r) throw new Error(r.errors.map(formatConfigError).join('\n'));
  return r.config;
}

const ACCESS =
  `    packages: { rooms: [101, c102], lobby: [101], staff: all }\n` +
  `    subnets:\n      10.1.0.0/16: rooms\n      10.1.2.0/24: lobby\n      10.9.0.0/24: [staff, write]\n` +
  `    tokens_file: tokens\n    default: none\n`;

t.test('the config: packages by number and slug, subnets sorted, tokens read', async (t) => {
  const a = ok(ACCESS).access!;
  t.same([...(a.packages.get('rooms') as Set<number>)], [101, 102], 'slug c102 is channel 102');
  t.equal(a.packages.get('staff'), 'all');
  t.same(
    a.subnets.map((s) => `${s.subnet.address}/${s.subnet.prefix}`),
    ['10.1.2.0/24', '10.9.0.0/24', '10.1.0.0/16'],
    'most specific first',
  );
  t.same(
    a.tokens.map((x) => [x.name, x.grants]),
    [
      ['alice', ['rooms']],
      ['staff', ['all', 'write']],
    ],
  );
  t.equal(ok('    default: all\n').access!.defaults[0], 'all');
  t.equal(ok('    default: none\n').access!.defaults.length, 0);
});

t.test('config errors name FILE:LINE:COLUMN, never a token', async (t) => {
  const r = load(
    `    packages: { rooms: [101, 999] }\n    subnets:\n      10.1.0.0/33: rooms\n` +
      `      10.2.0.0/16: nope\n    tokens_file: tokens\n`,
  );
  t.ok('errors' in r);
  const text = 'errors' in r ? r.errors.map(formatConfigError).join('\n') : '';
  t.match(
    text,
    /c\.yaml:3:\d+: headend\.access\.packages\.rooms\[1\]: no channel with number or slug "999"/,
  );
  t.match(text, /c\.yaml:5:\d+: .*prefix length of "10\.1\.0\.0\/33" must be 0-32/);
  t.match(text, /c\.yaml:6:\d+: .*no package "nope"/);

  const loose = join(dir, 'loose');
  writeFileSync(loose, `bob ${TOKEN_A} rooms\n`);
  chmodSync(loose, 0o644);
  const r2 = load(`    packages: { rooms: [101] }\n    tokens_file: loose\n`);
  const t2 = 'errors' in r2 ? r2.errors.map(formatConfigError).join('\n') : '';
  t.match(t2, /readable by others \(mode 644\): chmod 600/, 'mode 0644 refused');

  const bad = join(dir, 'bad');
  writeFileSync(bad, `bob tinytok rooms\ncarol ${TOKEN_S} nosuch\n`);
  chmodSync(bad, 0o600);
  const r3 = load(`    packages: { rooms: [101] }\n    tokens_file: bad\n`);
  const t3 = 'errors' in r3 ? r3.errors.map(formatConfigError).join('\n') : '';
  t.match(t3, /line 1: the token of bob is shorter than 16 characters/);
  t.match(t3, /line 2: no package "nosuch"/);
  t.notMatch(t3, /tinytok|ssssssss/, 'no token in any message');
});

t.test('decisions: subnets, tokens, default; lists; writes', async (t) => {
  const p = new AccessPolicy(ok(ACCESS).access);
  const d = (address: string, channel: number | 'write', token?: string) =>
    p.decide({ address, token }, channel === 'write' ? 'write' : { channel });
  t.ok(d('10.1.7.7', 102).ok, 'rooms subnet: 102');
  t.notOk(d('10.1.7.7', 103).ok, 'not 103');
  t.ok(d('10.1.2.3', 101).ok, 'the more specific lobby subnet: 101');
  t.notOk(d('10.1.2.3', 102).ok, 'and only 101 (the /24 wins over the /16)');
  t.ok(d('::ffff:10.9.0.4', 103).ok && d('10.9.0.4', 'write').ok, 'staff: all and write');
  t.notOk(d('10.1.7.7', 'write').ok, 'rooms may not write');
  t.match(d('192.0.2.1', 101), { ok: false, status: 401, reason: 'no-token' }, 'nothing: 401');
  t.match(d('192.0.2.1', 101, TOKEN_A), { ok: true, who: 'alice@192.0.2.1' }, 'a token grants');
  t.notOk(d('192.0.2.1', 103, TOKEN_A).ok, 'what the token holds only');
  t.match(d('192.0.2.1', 'write', TOKEN_S), { ok: true }, 'staff token writes');
  t.match(
    d('10.9.0.4', 101, 'x'.repeat(24)),
    { ok: false, status: 403, reason: 'bad-token' },
    'a bad token is refused even where the subnet allows',
  );
  t.same(p.visible({ address: '10.1.7.7' }, [101, 102, 103]), [101, 102], 'lists are filtered');
  t.equal(p.visible({ address: '10.1.7.7', token: 'y'.repeat(20) }, [101]), null);

  const open = new AccessPolicy(null);
  t.ok(open.decide({ address: '192.0.2.1' }, { channel: 101 }).ok, 'no access: every channel');
  t.ok(open.decide({ address: '127.0.0.1' }, 'write').ok, 'loopback writes');
  t.ok(open.decide({ address: '::1' }, 'write').ok);
  t.notOk(open.decide({ address: '192.0.2.1' }, 'write').ok, 'others do not');
  t.ok(
    open.decide({ address: '192.0.2.1', token: 'x' }, { channel: 1 }).ok,
    'a stray token is ignored',
  );
});

class Lines implements Logger {
  lines: { event: string; fields: LogFields }[] = [];
  log(_l: LogLevel, event: string, fields: LogFields = {}): void {
    this.lines.push({ event, fields });
  }
  child(): Logger {
    return this;
  }
}

t.test('the guard: counted, logged once a minute, 429 after ten bad tokens', async (t) => {
  let now = 1_000_000;
  const log = new Lines();
  const p = new AccessPolicy(ok(ACCESS).access);
  const g = new AccessGuard(
    () => p,
    log,
    () => now,
  );
  for (let i = 0; i < 3; i++) g.check({ address: '192.0.2.9' }, { channel: 101 }, 'stream');
  t.equal(g.denied.get('stream no-token'), 3, 'every denial counted');
  t.equal(log.lines.length, 1, 'logged once');
  t.match(log.lines[0], {
    event: 'access-denied',
    fields: { surface: 'stream', reason: 'no-token', channel: 101 },
  });
  g.check({ address: '192.0.2.9' }, { channel: 101 }, 'hls');
  t.equal(g.denied.get('hls no-token'), 1, 'counted on its own surface');
  t.equal(log.lines.length, 1, 'the same client on another surface: not logged again that minute');
  for (let i = 0; i < 10; i++)
    t.match(
      g.check(
        { address: '192.0.2.9', token: `bad-${i}`.padEnd(20, '!') },
        { channel: 101 },
        'stream',
      ),
      { status: 403 },
    );
  t.match(
    g.check({ address: '192.0.2.9', token: TOKEN_A }, { channel: 101 }, 'stream'),
    { ok: false, status: 429 },
    'the eleventh try, even with a good token: 429',
  );
  t.ok(
    g.check({ address: '192.0.2.10', token: TOKEN_A }, { channel: 101 }, 'stream').ok,
    'another address is not held',
  );
  now += 61_000;
  t.ok(
    g.check({ address: '192.0.2.9', token: TOKEN_A }, { channel: 101 }, 'stream').ok,
    'a minute later: allowed',
  );
  t.equal(log.lines.length, 1, 'one line for the minute');
  g.check({ address: '192.0.2.9' }, { channel: 101 }, 'playlist');
  t.equal(log.lines.length, 2, 'a minute later a denial is logged again');
  t.match(
    log.lines[1],
    { fields: { surface: 'playlist', reason: 'no-token', unlogged: 14 } },
    'with the denials the minute did not log (2 + 1 + 10 + the 429)',
  );
  t.notMatch(JSON.stringify(log.lines), /bad-\d|aaaaaaaa/, 'no token in the log');
  t.equal(requestToken('Bearer abc', new URL('http://x/?token=def')), 'abc');
  t.equal(requestToken(undefined, new URL('http://x/?token=def')), 'def');
});

t.test('withoutToken: a request target is logged without its token', async (t) => {
  t.equal(withoutToken('/stream/1?token=abc123'), '/stream/1?token=…');
  t.equal(withoutToken('/hls/a/1.ts?x=1&TOKEN=abc&y=2'), '/hls/a/1.ts?x=1&TOKEN=…&y=2');
  t.equal(withoutToken('rtsp://h:554/news?token=s3cret#f'), 'rtsp://h:554/news?token=…#f');
  t.equal(withoutToken('/stream/1?mytoken=abc'), '/stream/1?mytoken=abc', 'only a token= key');
  t.equal(withoutToken(undefined), undefined);
});
