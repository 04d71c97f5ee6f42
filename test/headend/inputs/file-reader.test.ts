import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFileChunks } from '../../../src/headend/inputs/file-reader.js';
import { HeadendError } from '../../../src/headend/errors.js';

t.test('reads a file in chunks of the given size', async (t) => {
  const dir = t.testdir();
  const bytes = Uint8Array.from({ length: 2500 }, (_, i) => i & 0xff);
  const path = join(dir, 'x.ts');
  writeFileSync(path, bytes);
  const sizes: number[] = [];
  const all: number[] = [];
  for await (const c of readFileChunks(path, 1000)) {
    sizes.push(c.length);
    all.push(...c);
  }
  t.same(sizes, [1000, 1000, 500]);
  t.same(all, [...bytes]);
});

t.test('a missing file is an E_IO error with a clear message', async (t) => {
  let caught: unknown;
  try {
    for await (const _ of readFileChunks('/nonexistent/x.ts')) void _;
  } catch (err) {
    caught = err;
  }
  t.ok(caught instanceof HeadendError);
  t.match(caught, {
    code: 'E_IO',
    message: "cannot open '/nonexistent/x.ts': no such file or directory (ENOENT)",
  });
});
