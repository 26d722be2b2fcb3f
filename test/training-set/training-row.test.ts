/**
 * The training-set row: the split is a stable hash of the id in the configured shares; a repeated
 * label from one annotator replaces the earlier one (an older one changes nothing); the label is
 * chosen by the policy (latest, majority, ground truth first); a row survives Parquet and back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Annotation } from '../../src/core/envelope.js';
import { decodeParquet, encodeParquet } from '../../src/formats/parquet.js';
import { chooseLabel, fromParquetRow, splitOf, toParquetRow, TRAINING_COLUMNS, withAnnotation } from '../../src/training-set/training-row.js';
import type { TrainingRow } from '../../src/training-set/training-row.js';
import { TrainingSetTable } from '../../src/training-set/training-set-table.js';
import { CentaurError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/logger.js';
import type { ObjectStore } from '../../src/storage/object-store.js';

const a = (annotator: string, label: string, labelTime: number, extra: Partial<Annotation> = {}): Annotation => ({ annotator, label, labelTime, origin: 'kafka', ...extra });

test('the split is a function of the id alone, in the configured shares', () => {
  const shares = { validation: 0.1, holdout: 0.2 };
  const counts = { train: 0, validation: 0, holdout: 0 };
  for (let i = 0; i < 20000; i++) counts[splitOf(`frame-${i}`, shares)] += 1;
  assert.ok(Math.abs(counts.holdout / 20000 - 0.2) < 0.015, `holdout ${counts.holdout}`);
  assert.ok(Math.abs(counts.validation / 20000 - 0.1) < 0.015, `validation ${counts.validation}`);
  assert.equal(splitOf('frame-7', shares), splitOf('frame-7', shares));
  // A holdout input stays in the holdout when the validation share grows: the holdout is taken first.
  for (let i = 0; i < 2000; i++) if (splitOf(`frame-${i}`, shares) === 'holdout') assert.equal(splitOf(`frame-${i}`, { validation: 0.3, holdout: 0.2 }), 'holdout');
});

test('a repeated label from one annotator replaces the earlier one; an older one changes nothing; another annotator adds one', () => {
  const first = withAnnotation([], a('ann', 'horse', 1000));
  assert.equal(first.outcome, 'added');
  const repeat = withAnnotation(first.annotations, a('ann', 'horse', 1000));
  assert.equal(repeat.outcome, 'unchanged');
  const newer = withAnnotation(first.annotations, a('ann', 'human', 2000));
  assert.equal(newer.outcome, 'replaced');
  assert.deepEqual(newer.annotations.map((x) => x.label), ['human']);
  const older = withAnnotation(newer.annotations, a('ann', 'dog', 1500));
  assert.equal(older.outcome, 'unchanged');
  assert.deepEqual(older.annotations.map((x) => x.label), ['human'], 'a late copy of an older label does not win');
  const other = withAnnotation(newer.annotations, a('bob', 'horse', 1800));
  assert.equal(other.outcome, 'added');
  assert.equal(other.annotations.length, 2);
});

test('the policy chooses the label: latest, majority (ties to the latest), ground truth over people; agreement is the share', () => {
  const list = [a('x', 'horse', 1), a('y', 'horse', 2), a('z', 'human', 3)];
  assert.equal(chooseLabel(list, 'latest').annotation.label, 'human');
  assert.ok(Math.abs(chooseLabel(list, 'latest').agreement - 1 / 3) < 1e-12);
  assert.equal(chooseLabel(list, 'majority').annotation.label, 'horse');
  assert.ok(Math.abs(chooseLabel(list, 'majority').agreement - 2 / 3) < 1e-12);
  assert.equal(chooseLabel([a('x', 'horse', 1), a('y', 'human', 2)], 'majority').annotation.label, 'human', 'a tie goes to the latest');
  assert.equal(chooseLabel([...list, a('truth', 'dog', 0, { origin: 'ground-truth' })], 'latest').annotation.label, 'dog');
});

test('a row goes to Parquet and comes back the same; the label, new-class flag and selection are written', async () => {
  const row: TrainingRow = {
    inputId: 'cam-1/frame-9',
    split: 'holdout',
    annotations: [a('label-studio:1', 'dog', 1_700_000_000_000, { origin: 'label-studio' }), a('bob', 'horse', 1_700_000_100_000)],
    selection: 'exploration',
    features: { entity: 'cam-1/frame-9', eventTime: 1_699_999_000_000, modelName: 'horse-or-human', modelVersion: '1', embedding: Float32Array.from([0.25, -1, 3]), predictedLabel: 'horse', confidence: 0.75, probabilities: Float32Array.from([0.75, 0.25]) },
    updatedTime: 1_700_000_200_000,
  };
  const parquet = toParquetRow(row, 'majority', new Set(['horse', 'human']));
  assert.equal(parquet.label, 'horse', 'a tie: the latest');
  assert.equal(parquet.new_class, false);
  assert.equal(parquet.selection, 'exploration');
  assert.equal(toParquetRow(row, 'latest', new Set(['horse', 'human'])).new_class, false);
  assert.equal(toParquetRow({ ...row, annotations: [row.annotations[0]!] }, 'latest', new Set(['horse', 'human'])).new_class, true);
  const [back] = await decodeParquet(await encodeParquet(TRAINING_COLUMNS, [parquet]));
  assert.deepEqual(fromParquetRow(back!), row);
  assert.equal(fromParquetRow({ ...back!, schema_version: 99 }), undefined, 'a row of another layout is not read as this one');
});

test('the table: a failed upload takes the rows back out, so the retried labels are written again; a restart reads the rows back', async () => {
  const objects = new Map<string, Buffer>();
  let failPuts = false;
  const store = {
    get: async (uri: string) => objects.get(uri) as Buffer,
    put: async (uri: string, body: Buffer | string) => {
      if (failPuts && uri.endsWith('.parquet')) throw new CentaurError('OBJECT_STORE_UNAVAILABLE', 'down');
      objects.set(uri, Buffer.from(body));
    },
    head: async (uri: string) => (objects.has(uri) ? { uri, size: objects.get(uri)!.length } : null),
    exists: async (uri: string) => objects.has(uri),
    list: async () => ({ objects: [] }),
    close: async () => undefined,
  } as unknown as ObjectStore;
  const options = { base: 'mem://lake/training-set', buckets: 2, policy: 'latest' as const, classes: new Set(['horse', 'human']), compression: 'zstd' as const, retries: 0 };
  const table = await TrainingSetTable.open(options, store, createLogger('silent'), 'test');
  const row = (id: string, label: string): TrainingRow => ({
    inputId: id,
    split: 'train',
    annotations: [a('ann', label, 1000)],
    features: { entity: id, eventTime: 1, modelVersion: '1', embedding: Float32Array.from([1, 2]), predictedLabel: 'horse', confidence: 0.5 },
    updatedTime: 2,
  });
  await table.put([row('x', 'horse')]);
  failPuts = true;
  await assert.rejects(table.put([row('x', 'human'), row('y', 'horse')]));
  assert.equal(table.get('x')?.annotations[0]?.label, 'horse', 'the earlier row is back');
  assert.equal(table.get('y'), undefined, 'the new row is gone');
  failPuts = false;
  await table.put([row('x', 'human'), row('y', 'horse')]);
  const reopened = await TrainingSetTable.open(options, store, createLogger('silent'), 'test');
  assert.equal(reopened.size, 2);
  assert.equal(reopened.get('x')?.annotations[0]?.label, 'human');
});
