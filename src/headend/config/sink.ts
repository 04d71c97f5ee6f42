// Collects every ConfigError of one load, each placed at the key or value it is about.

import type { z } from 'zod';
import { formatPath, type PathSegment, type Positions } from './positions.js';
import { knownKeys } from './schema.js';
import { didYouMean } from './suggest.js';
import type { ConfigError } from './types.js';
import { describe } from './values.js';

export class ErrorSink {
  readonly errors: ConfigError[] = [];

  constructor(
    readonly file: string,
    private readonly positions: Positions | undefined,
  ) {}

  /**
   * An error about the value at `path` (or, with `onKey`, about the key itself). The path
   * prefixes the message so that a line read alone still says what it is about.
   */
  add(path: readonly PathSegment[], message: string, onKey = false): void {
    const pos = this.positions?.of(path, onKey) ?? { line: 0, column: 0 };
    const where = formatPath(path);
    this.errors.push({
      file: this.file,
      line: pos.line,
      column: pos.column,
      path: where,
      message: where === '' ? message : `${where}: ${message}`,
    });
  }

  /** An error at a known text position (YAML syntax errors). */
  addAt(line: number, column: number, message: string): void {
    this.errors.push({ file: this.file, line, column, path: '', message });
  }

  /** Turns zod's issues for the value at `prefix` into errors. */
  addIssues(prefix: readonly PathSegment[], issues: readonly z.core.$ZodIssue[]): void {
    for (const issue of issues) {
      const path = [...prefix, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))];
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          const keyPath = [...path, key];
          const where = formatPath(path);
          const pos = this.positions?.of(keyPath, true) ?? { line: 0, column: 0 };
          this.errors.push({
            file: this.file,
            line: pos.line,
            column: pos.column,
            path: formatPath(keyPath),
            message:
              `unknown key '${key}'${where === '' ? '' : ` in ${where}`}` +
              didYouMean(key, knownKeys(path)),
          });
        }
      } else if (issue.code === 'invalid_type') {
        const expected =
          issue.expected === 'object'
            ? `a mapping (${knownKeys(path).slice(0, 3).join(', ')}, …)`
            : issue.expected === 'array'
              ? 'a list'
              : issue.expected;
        this.add(path, `expected ${expected}, got ${describe(issue.input)}`);
      } else {
        this.add(path, issue.message);
      }
    }
  }

  /** The errors in file order, each reported once (a bad default would repeat per channel). */
  sorted(): ConfigError[] {
    const seen = new Set<string>();
    return this.errors
      .filter((e) => {
        const id = `${e.line}:${e.column}:${e.message}`;
        if (seen.has(id)) return false;
        seen.add(id);
        return true;
      })
      .sort((a, b) => a.line - b.line || a.column - b.column);
  }
}
