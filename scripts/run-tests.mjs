#!/usr/bin/env node
// Runs tap test files as plain `node` processes, N at a time, and sums their results
// (scripts/test.sh uses it for every phase of `npm test`):
//
//   node scripts/run-tests.mjs [--jobs N] [--timeout SECONDS] FILE…
//
// Why not tap's own runner: it loads its process tracker into every test process and, through
// NODE_OPTIONS, into every node process a test starts (the CLI, the daemon and each of its
// worker threads). Measured on the CLI test file: 29 s and 27.6 s of CPU under the runner,
// 20 s and 10.7 s as a plain process; on the 2-core CI box the unit phase is bound by CPU.
// Each file still uses tap (assertions, subtests, its TAP output and its timeout: TAP_TIMEOUT).
//
// Output: per file, `ok N - FILE # time=…ms` (or `not ok`), then the file's own TAP output
// indented by four spaces; at the end one summary line in tap's form,
// `# { total: T, pass: P, fail: F }` (`skip`/`todo` when there are any), which .ci/run adds up.
// A file that exits non-zero without a failed assertion (a crash, a timeout, a signal), or that
// prints no summary, counts as one failure. Exit status 1 when anything failed.
import { spawn } from 'node:child_process';

const args = process.argv.slice(2);
let jobs = 2;
let timeoutS = 600;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--jobs') jobs = Math.max(1, Number(args[++i]));
  else if (args[i] === '--timeout') timeoutS = Number(args[++i]);
  else files.push(args[i]);
}
if (files.length === 0) {
  console.error('run-tests: no test files given');
  process.exit(2);
}

const totals = { total: 0, pass: 0, fail: 0, skip: 0, todo: 0 };
const started = performance.now();
const results = new Array(files.length);
let nextToPrint = 0;

/** One file as a plain node process; resolves with what to print and its counts. */
function runOne(file) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--enable-source-maps', file], {
      env: { ...process.env, TAP_TIMEOUT: String(timeoutS) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks = [];
    child.stdout.on('data', (b) => chunks.push(b));
    child.stderr.on('data', (b) => chunks.push(b));
    // tap's own timeout ends the file first (it reports what was running); this is the backstop.
    const kill = setTimeout(() => child.kill('SIGKILL'), (timeoutS + 30) * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(kill);
      const text = Buffer.concat(chunks).toString('utf8');
      const ms = performance.now() - t0;
      // The root test's summary: the last such line (tap prints it at the end).
      const summary = text
        .replace(/\x1b\[[0-9;]*m/g, '')
        .match(/^# \{ total: .*\}$/gm)
        ?.at(-1);
      const counts = { total: 0, pass: 0, fail: 0, skip: 0, todo: 0 };
      if (summary) {
        for (const k of Object.keys(counts)) {
          const f = new RegExp(`\\b${k}: (\\d+)`).exec(summary);
          if (f) counts[k] = Number(f[1]);
        }
      }
      let note = '';
      if (!summary || ((code !== 0 || signal) && counts.fail === 0)) {
        counts.fail += 1;
        counts.total += 1;
        note = ` (ended by ${signal ?? `exit status ${code}`}${summary ? ' with no failed assertion' : ', no tap summary'})`;
      }
      resolve({ file, ms, counts, text, note });
    });
  });
}

function flush() {
  while (nextToPrint < files.length && results[nextToPrint]) {
    const r = results[nextToPrint++];
    const ok = r.counts.fail === 0;
    const body = r.text
      .replace(/\n$/, '')
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n');
    process.stdout.write(
      `${ok ? 'ok' : 'not ok'} ${nextToPrint} - ${r.file} # time=${r.ms.toFixed(3)}ms${r.note}\n${body}\n`,
    );
    for (const k of Object.keys(totals)) totals[k] += r.counts[k];
  }
}

let next = 0;
async function lane() {
  while (next < files.length) {
    const i = next++;
    results[i] = await runOne(files[i]);
    flush();
  }
}
await Promise.all(Array.from({ length: Math.min(jobs, files.length) }, lane));
flush();
const parts = [`total: ${totals.total}`, `pass: ${totals.pass}`];
if (totals.fail) parts.push(`fail: ${totals.fail}`);
if (totals.skip) parts.push(`skip: ${totals.skip}`);
if (totals.todo) parts.push(`todo: ${totals.todo}`);
console.log(`# { ${parts.join(', ')} }`);
console.log(`# time=${(performance.now() - started).toFixed(3)}ms`);
process.exit(totals.fail > 0 ? 1 : 0);
