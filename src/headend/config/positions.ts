// Where a key path is in the YAML text: 1-based line and column of the key or its value,
// found by walking the parsed document. A path that is not in the text (a missing key, a
// value that came from an alias) falls back to the closest enclosing node that is.

import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export type PathSegment = string | number;

export interface Position {
  line: number;
  column: number;
}

/** `channels[2].source.url`. */
export function formatPath(path: readonly PathSegment[]): string {
  let s = '';
  for (const seg of path) {
    if (typeof seg === 'number') s += `[${seg}]`;
    else s += s === '' ? seg : `.${seg}`;
  }
  return s;
}

export class Positions {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** Line/column of a byte offset in the text. */
  at(offset: number): Position {
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  /**
   * Position of the value at `path`; with `key`, of the key naming it (unknown keys, keys
   * that are not allowed where they are). Missing segments: the deepest node that exists.
   * Index 0 of a node that is not a list is the node itself (a list written as one value).
   */
  of(path: readonly PathSegment[], key = false): Position {
    let node: unknown = this.doc.contents;
    let keyNode: unknown;
    let found: unknown = node;
    for (const seg of path) {
      node = this.resolve(node);
      keyNode = undefined;
      let next: unknown;
      // A single value written where a list is allowed (`backup: url`) is item 0.
      if (seg === 0 && !isSeq(node)) continue;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (pair !== undefined) {
          keyNode = pair.key;
          // `key:` with nothing after it: point at the key, not at the end of the line.
          const empty = (pair.value as Node | null)?.range;
          next = pair.value === null || (empty && empty[0] === empty[1]) ? pair.key : pair.value;
        }
      } else if (isSeq(node) && typeof seg === 'number') {
        next = node.items[seg];
      }
      if (next === undefined || next === null) {
        return this.start(found);
      }
      node = next;
      found = next;
    }
    return this.start(key && keyNode !== undefined ? keyNode : found);
  }

  /** 1-based line of the node at `path` (channels, for log lines). */
  line(path: readonly PathSegment[]): number {
    return this.of(path).line;
  }

  private resolve(node: unknown): unknown {
    return isAlias(node) ? node.resolve(this.doc) : node;
  }

  private start(node: unknown): Position {
    const range = (node as Node | null | undefined)?.range;
    return range ? this.at(range[0]) : { line: 1, column: 1 };
  }
}
