import t from 'tap';
import {
  ERROR_CODES,
  HeadendError,
  fromSystemError,
  isHeadendError,
} from '../../src/headend/errors.js';

t.test('every code is E_UPPER_CASE with a description', async (t) => {
  for (const [code, meaning] of Object.entries(ERROR_CODES)) {
    t.match(code, /^E_[A-Z][A-Z_]*$/, code);
    t.ok(meaning.length > 10, `${code} has a description`);
  }
});

t.test('HeadendError is a value with code and message', async (t) => {
  const e = new HeadendError('E_BAD_URL', 'bad input');
  t.ok(isHeadendError(e));
  t.notOk(isHeadendError(new Error('x')));
  t.same(JSON.parse(JSON.stringify(e)), { code: 'E_BAD_URL', message: 'bad input' });
});

t.test('fromSystemError explains errno codes', async (t) => {
  const sys = Object.assign(new Error('ENOENT: no such file, open x'), { code: 'ENOENT' });
  const e = fromSystemError('E_IO', "cannot open 'x'", sys);
  t.equal(e.code, 'E_IO');
  t.equal(e.message, "cannot open 'x': no such file or directory (ENOENT)");
  const same = new HeadendError('E_NET', 'kept');
  t.equal(fromSystemError('E_IO', 'ignored', same), same, 'a HeadendError passes through');
});
