/**
 * Reads the JSON lines a running sink has written so far. A file being written can end in half a
 * line (a long record reaches the disk in pieces), so only lines ended by a newline are parsed, and
 * each file is split on its own so that a half line never joins the next file's first.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** The complete lines of the `.jsonl` files in `dir` whose names start with `prefix`, parsed; none if `dir` does not exist yet. */
export async function readJsonLines<T>(dir: string, prefix: string): Promise<T[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith(prefix) && n.endsWith('.jsonl')).sort();
  const texts = await Promise.all(names.map((n) => readFile(path.join(dir, n), 'utf8')));
  return texts.flatMap((text) => completeLines(text).map((line) => JSON.parse(line) as T));
}

/** The non-empty lines of `text` that end with a newline. */
export function completeLines(text: string): string[] {
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter((l) => l.length > 0);
}
