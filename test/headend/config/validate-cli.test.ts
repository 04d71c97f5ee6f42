// `headend validate [-c FILE]` as a user runs it: OK (0), every error (1), no file (2).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../../src/cli.js', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../../../channels.yaml', import.meta.url));

function validate(
  args: string[],
  cwd?: string,
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'validate', ...args], { encoding: 'utf8', cwd });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const BAD = `channels:
  - number: 1
    name: One
    output: udp://239.255.1.1:5000
    source: { test: smpte }
    bitrat: 6M
  - number: 1
    name: Two
    output: udp://239.255.1.2:5000
    source: { test: smpte }
    psi_interval: 1s
`;

t.test('the example file: OK, exit 0', async (t) => {
  const r = validate(['-c', EXAMPLE]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'OK: 4 channels\n');
  t.equal(r.stderr, '');
});

t.test('an invalid file: every error as FILE:LINE:COLUMN, exit 1', async (t) => {
  const dir = t.testdir({
    'bad.yaml': BAD,
    'syntax.yaml': 'channels:\n  - number: 1\n   name: x\n',
  });
  const file = join(dir, 'bad.yaml');
  const r = validate(['--config', file]);
  t.equal(r.code, 1);
  t.same(r.stdout.split('\n'), [
    `${file}:6:5: unknown key 'bitrat' in channels[0] (did you mean 'bitrate'?)`,
    `${file}:7:13: channels[1].number: number 1 is already used by channel 1 'One' (line 2)`,
    `${file}:11:19: channels[1].psi_interval: duration '1s' is outside 10ms to 500ms`,
    '',
  ]);
  t.notMatch(r.stdout + r.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
  const s = validate(['-c', 'syntax.yaml'], dir);
  t.equal(s.code, 1);
  t.match(s.stdout, /^syntax\.yaml:3:1: /);
});

t.test('no file: exit 2 with a message on stderr', async (t) => {
  const dir = t.testdir({
    ok: {
      'channels.yaml':
        'channels:\n  - { number: 1, name: A, output: udp://239.255.1.1:5000, source: a.ts }\n',
    },
    empty: {},
  });
  const missing = validate(['-c', join(dir, 'missing.yaml')]);
  t.equal(missing.code, 2);
  t.equal(missing.stdout, '');
  t.match(
    missing.stderr,
    /missing\.yaml: cannot read the file: no such file or directory \(ENOENT\)/,
  );

  const here = validate([], join(dir, 'ok'));
  t.equal(here.code, 0, 'finds ./channels.yaml');
  t.equal(here.stdout, 'OK: 1 channel\n');

  if (!existsSync('/etc/headend/channels.yaml')) {
    const none = validate([], join(dir, 'empty'));
    t.equal(none.code, 2);
    t.match(
      none.stderr,
      /no config file: looked for channels\.yaml, \/etc\/headend\/channels\.yaml/,
    );
  }
  const dirAsFile = validate(['-c', dir]);
  t.equal(dirAsFile.code, 2, 'a directory');
  t.match(dirAsFile.stderr, /is a directory/);
});

t.test('validate checks interfaces on this machine and bitrate ranges (exit 1)', async (t) => {
  const dir = t.testdir({
    'silent.yaml':
      'headend:\n  interface: eth9\nchannels:\n' +
      '  - { number: 1, name: A, output: udp://239.255.1.1:5000, source: a.ts, bitrate: 99999G }\n',
    'lo.yaml':
      'headend:\n  interface: lo\nchannels:\n' +
      '  - { number: 1, name: A, output: udp://239.255.1.1:5000, source: a.ts, interface: 127.0.0.1 }\n',
  });
  const bad = validate(['-c', join(dir, 'silent.yaml')]);
  t.equal(bad.code, 1);
  const lines = bad.stdout.split('\n');
  t.match(lines[0], /silent\.yaml:2:14: headend\.interface: no interface 'eth9' on this machine/);
  t.match(
    lines[1],
    /silent\.yaml:4:82: channels\[0\]\.bitrate: bitrate '99999G' is outside 250k to 100M/,
  );
  const good = validate(['-c', join(dir, 'lo.yaml')]);
  t.equal(good.code, 0, good.stdout);
});
