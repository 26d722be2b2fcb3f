/** Copies of the tiny fixture model as other versions, for registry and hot-swap tests. */
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const TINY_MODEL = path.resolve('test/fixtures/tiny-model');

/** A temporary copy of the tiny model as `version`, without a checksum (the registry adds one), optionally changed further. */
export async function tinyModelVersion(version: string, change: (manifest: Record<string, unknown>) => void = () => undefined): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-model-'));
  await cp(TINY_MODEL, dir, { recursive: true });
  const file = path.join(dir, 'manifest.json');
  const manifest = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  manifest.version = version;
  delete manifest.sha256;
  change(manifest);
  await writeFile(file, JSON.stringify(manifest));
  return dir;
}
