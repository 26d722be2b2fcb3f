/**
 * `drift profile` reads an image folder through the serving components: any folder name (brackets,
 * `${`), any extension case, hidden files, in name order with the same ids; unreadable images are
 * counted; with a model, rows carry predictions and embeddings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readImageFolder } from '../../src/datasets/drift-input.js';

const HORSE = 'data/quickstart/horses/horse-000000.jpg';
const HUMAN = 'data/quickstart/humans/human-000000.jpg';

test('an image folder whose name YAML or a glob would misread is read whole, in name order', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'centaur-profile-'));
  const dir = path.join(root, 'imgs [v2] ${X} {a,b}');
  await mkdir(path.join(dir, 'horses'), { recursive: true });
  await mkdir(path.join(dir, '.hidden'), { recursive: true });
  await copyFile(HORSE, path.join(dir, 'horses', 'a.JPG'));
  await copyFile(HUMAN, path.join(dir, 'b.Jpg'));
  await copyFile(HORSE, path.join(dir, '.hidden', 'c.jpg'));
  await writeFile(path.join(dir, 'broken.png'), 'not an image');
  await writeFile(path.join(dir, 'notes.txt'), 'skipped');
  const errors: string[] = [];
  const data = await readImageFolder(dir, {}, { out: () => undefined, err: (t) => errors.push(t) });
  assert.equal(data.rows.length, 3);
  assert.equal(data.unreadable, 1);
  assert.match(errors.join('\n'), /broken\.png: unrecognised image format/);
  assert.ok(data.features.some((f) => f.name === 'brightness'));
});

test('with the model, rows carry predictions for folder labels and embeddings', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'centaur-profile-'));
  await mkdir(path.join(root, 'horses'));
  await mkdir(path.join(root, 'humans'));
  await copyFile(HORSE, path.join(root, 'horses', 'h.jpg'));
  await copyFile(HUMAN, path.join(root, 'humans', 'p.jpg'));
  const data = await readImageFolder(root, { model: 'models/demo' }, { out: () => undefined, err: () => undefined });
  assert.equal(data.rows.length, 2);
  assert.deepEqual(data.rows.map((r) => r.label), ['horse', 'human']);
  assert.ok(data.rows.every((r) => r.embedding !== undefined && r.predicted !== undefined));
  assert.deepEqual(data.model, { name: 'horse-or-human', version: '1', classes: ['horse', 'human'] });
});
