// Loading the native UDP addon (src/headend/net/native-udp.ts): it is found from an install
// whose path holds a space (a URL's pathname would be percent-encoded there and miss the file),
// and HEADEND_NATIVE_UDP=0 turns it off with the reason given.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function load(root: string, env: NodeJS.ProcessEnv = {}): { loaded: boolean; reason: string } {
  const mod = join(root, 'dist', 'src', 'headend', 'net', 'native-udp.js');
  const code =
    `import(${JSON.stringify(mod)}).then((m) => console.log(JSON.stringify(` +
    `{ loaded: m.nativeUdp() !== undefined, reason: m.nativeUdpUnavailable() })))`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return JSON.parse(out) as { loaded: boolean; reason: string };
}

t.test('the addon loads from a path with a space in it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headend native '));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(ROOT, 'dist', 'src', 'headend', 'net'), join(dir, 'dist', 'src', 'headend', 'net'), {
    recursive: true,
  });
  cpSync(
    join(ROOT, 'native', 'build', 'Release', 'headend_udp.node'),
    join(dir, 'native', 'build', 'Release', 'headend_udp.node'),
  );
  t.same(load(dir), { loaded: true, reason: '' });
});

t.test('HEADEND_NATIVE_UDP=0 turns it off and says so', async (t) => {
  const r = load(ROOT, { HEADEND_NATIVE_UDP: '0' });
  t.equal(r.loaded, false);
  t.match(r.reason, /HEADEND_NATIVE_UDP=0/);
});

t.test('an addon that is not built is named with the fix', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headend-nobuild-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(ROOT, 'dist', 'src', 'headend', 'net'), join(dir, 'dist', 'src', 'headend', 'net'), {
    recursive: true,
  });
  const r = load(dir);
  t.equal(r.loaded, false);
  t.match(r.reason, /headend_udp\.node is not built \(npm install builds it/);
});
