/** Maps a path inside a parsed YAML/JSON document to the line and column a person should look at. */
import { isMap, isSeq, isScalar } from 'yaml';
import type { Document, Node as YamlNode , LineCounter } from 'yaml';

export interface Location {
  readonly line: number;
  readonly column: number;
}

/**
 * The location of the value at `path`, or of its key when `at: 'key'`; when the path does not
 * exist (a missing field), the location of the deepest existing parent.
 */
export function locate(doc: Document, lines: LineCounter, path: readonly (string | number)[], at: 'key' | 'value' = 'value'): Location {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (let i = 0; i < path.length; i += 1) {
    const segment = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(segment));
      if (pair === undefined) break;
      const keyOffset = rangeStart(pair.key);
      if (last && at === 'key' && keyOffset !== undefined) {
        offset = keyOffset;
        break;
      }
      node = pair.value;
      offset = rangeStart(node) ?? keyOffset ?? offset;
    } else if (isSeq(node)) {
      const item: unknown = node.items[Number(segment)];
      if (item === undefined) break;
      node = item;
      offset = rangeStart(node) ?? offset;
    } else {
      break;
    }
  }
  const pos = lines.linePos(offset);
  return { line: pos.line, column: pos.col };
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as YamlNode | null)?.range;
  return range?.[0];
}
