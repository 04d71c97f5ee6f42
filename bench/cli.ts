// What every benchmark script shares: `--name value` arguments, the results file
// (bench/results/<name>-latest.json, one JSON object), the machine it ran on, and the number
// format of its table.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';

/** The repository (bench scripts run from dist/bench). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `--name 12` on the command line, else `def`. */
export function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

/** `--name 1,4,20` on the command line, else `def`. */
export function listArg(name: string, def: number[]): number[] {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1].split(',').map(Number) : def;
}

/** Writes bench/results/<name>-latest.json; returns its path relative to the repository. */
export function writeResult(name: string, result: unknown): string {
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}-latest.json`), JSON.stringify(result, null, 2) + '\n');
  return `bench/results/${name}-latest.json`;
}

/** A table number with `d` decimals, '-' when not finite. */
export function fmt(v: number, d = 1): string {
  return Number.isFinite(v) ? v.toFixed(d) : '-';
}

/** The machine a result was measured on (goes into every results file). */
export function hostInfo() {
  return {
    cpus: cpus().length,
    model: cpus()[0]?.model,
    loadavg: loadavg(),
    node: process.version,
  };
}

/** A minimal Test for the test helpers (startDaemon, netns-rig) outside tap: teardowns at the end. */
export function fakeTest(): { t: Test; teardown: () => Promise<void> } {
  const fns: (() => unknown)[] = [];
  const t = { teardown: (fn: () => unknown) => fns.push(fn) } as unknown as Test;
  return {
    t,
    teardown: async () => {
      for (const fn of fns.reverse()) await fn();
    },
  };
}

/** The p-quantile (0..1) of values, nearest rank; NaN when there are none. */
export function quantile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
}
