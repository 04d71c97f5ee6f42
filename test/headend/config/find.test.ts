// findConfigFile: -c FILE, else ./channels.yaml, else /etc/headend/channels.yaml.
import t from 'tap';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_SEARCH_PATHS, findConfigFile } from '../../../src/headend/config/index.js';

t.test('the search order', async (t) => {
  t.same(CONFIG_SEARCH_PATHS, ['channels.yaml', '/etc/headend/channels.yaml']);
  const dir = t.testdir({
    here: { 'channels.yaml': 'channels: []\n' },
    etc: { 'channels.yaml': 'x' },
    empty: {},
  });
  const etc = join(dir, 'etc', 'channels.yaml');
  const cwd = process.cwd();
  t.teardown(() => process.chdir(cwd));

  process.chdir(join(dir, 'here'));
  t.equal(
    findConfigFile(undefined, ['channels.yaml', etc]),
    'channels.yaml',
    './channels.yaml first',
  );
  t.equal(
    findConfigFile('../etc/channels.yaml', ['channels.yaml', etc]),
    '../etc/channels.yaml',
    'an explicit file wins',
  );

  process.chdir(join(dir, 'empty'));
  t.equal(findConfigFile(undefined, ['channels.yaml', etc]), etc, 'then the system file');
  const none = findConfigFile(undefined, ['channels.yaml', join(dir, 'nope.yaml')]);
  t.match(none, {
    file: 'channels.yaml',
    line: 0,
    column: 0,
    path: '',
    message: /no config file: looked for channels.yaml, .*nope.yaml \(give one with -c FILE\)/,
  });
  const missing = findConfigFile('missing.yaml', ['channels.yaml', etc]);
  t.match(
    missing,
    { file: 'missing.yaml', line: 0, message: /no such file or directory/ },
    'an explicit file must exist: no fallback',
  );
});

t.test(
  'an unreadable file is not taken',
  { skip: process.getuid?.() === 0 ? 'root reads everything' : false },
  async (t) => {
    const dir = t.testdir({});
    const file = join(dir, 'channels.yaml');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(file, 'x');
    chmodSync(file, 0o000);
    t.match(findConfigFile(file), { message: /permission denied/ });
  },
);
