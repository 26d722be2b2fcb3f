/**
 * The Feast Redis layout byte for byte: entity keys, hash field names, values and timestamps
 * equal to what Feast 0.67 itself writes (vectors taken from Feast's own serializers), and, where
 * the Python readers are installed, equal to Feast for many random ids and names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { encodeFeastValue, encodeTimestamp, feastFeatureField, feastRedisKey, feastRow, feastTimestampField, serializeEntityKey } from '../../src/feature-store/feast-redis-layout.js';
import { requirePytools, runPython } from '../helpers/pytools.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('entity keys are Feast’s serialization version 3 followed by the project', () => {
  assert.equal(hex(serializeEntityKey('image_id', 'humans/ü.png')), '010000000200000008000000696d6167655f6964020000000d00000068756d616e732fc3bc2e706e67');
  assert.equal(
    hex(feastRedisKey('proj', 'image_id', 'horses/a.png')),
    '010000000200000008000000696d6167655f6964020000000c000000686f727365732f612e706e67' + Buffer.from('proj').toString('hex'),
  );
});

test('hash fields are the little-endian MurmurHash3 of `<view>:<feature>`, and `_ts:<view>` for the time', () => {
  const expected: Record<string, string> = {
    'image_features:embedding': '91beb8b7',
    'image_features:predicted_label': '04dc6c7f',
    'image_features:confidence': 'c30d5d21',
    'image_features:model_version': '926da1fe',
    'a:': '13516df1',
    'ab:c': '4b79ea3b',
    'vué:é': 'af1d3da0',
    '视图:特征': '6f38f287',
  };
  for (const [name, field] of Object.entries(expected)) {
    const [view, feature] = name.split(':') as [string, string];
    assert.equal(hex(feastFeatureField(view, feature)), field, name);
  }
  assert.equal(feastTimestampField('image_features'), '_ts:image_features');
});

test('values are serialized feast.types.Value messages, as Feast writes them', () => {
  assert.equal(hex(encodeFeastValue({ type: 'float32-list', value: new Float32Array([0.25, -1.5, 3.0e-8]) })), '82010e0a0c0000803e0000c0bf59d90033');
  assert.equal(hex(encodeFeastValue({ type: 'float32-list', value: [1, 2] })), '82010a0a080000803f00000040');
  assert.equal(hex(encodeFeastValue({ type: 'string', value: 'human' })), '120568756d616e');
  assert.equal(hex(encodeFeastValue({ type: 'string', value: '' })), '1200', 'a set oneof member is written even when empty');
  assert.equal(hex(encodeFeastValue({ type: 'float32', value: 0.999 })), '3577be7f3f');
  assert.equal(hex(encodeFeastValue({ type: 'float32', value: 0 })), '3500000000');
  assert.equal(hex(encodeFeastValue({ type: 'int64', value: 5 })), '2005');
  assert.equal(hex(encodeFeastValue({ type: 'bool', value: false })), '3800');
});

test('event times are google.protobuf.Timestamp messages, fractions of a millisecond kept', () => {
  assert.equal(hex(encodeTimestamp(1767225600999)), '0880f2d6ca0610c08faedc03');
  assert.equal(hex(encodeTimestamp(1700000000123.5)), '0880e2cfaa0610e0ebf13a');
});

test('a row holds one field per feature and the timestamp field last', () => {
  const row = feastRow({ project: 'p', featureView: 'image_features', joinKey: 'image_id' }, 'x', { predicted_label: { type: 'string', value: 'horse' }, confidence: { type: 'float32', value: 0.5 } }, 1000);
  assert.deepEqual(row.key, feastRedisKey('p', 'image_id', 'x'));
  assert.deepEqual(
    row.fields.map(([f]) => (typeof f === 'string' ? f : hex(f))),
    [hex(feastFeatureField('image_features', 'predicted_label')), hex(feastFeatureField('image_features', 'confidence')), '_ts:image_features'],
  );
});

test('keys, field names and values equal Feast’s own for random ids and names', async (t) => {
  if (!(await requirePytools(t))) return;
  const cases = fc.sample(
    fc.record({ id: fc.string({ unit: 'grapheme', maxLength: 300 }), view: fc.string({ unit: 'grapheme', maxLength: 40 }), feature: fc.string({ unit: 'grapheme', maxLength: 40 }), x: fc.float({ noNaN: true, noDefaultInfinity: true }).map((x) => (x === 0 ? 0 : x)) }),
    { numRuns: 200, seed: 7 },
  );
  const python = `
import json, sys
from feast.infra.online_stores.helpers import _redis_key, _mmh3
from feast.protos.feast.types.EntityKey_pb2 import EntityKey
from feast.protos.feast.types.Value_pb2 import Value, FloatList
out = []
for c in json.load(open(sys.argv[1], encoding='utf-8')):
    key = _redis_key('proj_x', EntityKey(join_keys=['image_id'], entity_values=[Value(string_val=c['id'])]), entity_key_serialization_version=3)
    out.append([key.hex(), _mmh3(c['view'] + ':' + c['feature']).hex(), Value(float_list_val=FloatList(val=[c['x'], c['x']])).SerializeToString().hex()])
print(json.dumps(out))
`;
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-feast-layout-'));
  try {
    const file = path.join(dir, 'cases.json');
    await writeFile(file, JSON.stringify(cases));
    const feast = JSON.parse(await runPython(python, [file])) as [string, string, string][];
    cases.forEach((c, i) => {
      const [key, field, value] = feast[i] as [string, string, string];
      assert.equal(hex(feastRedisKey('proj_x', 'image_id', c.id)), key, `id ${JSON.stringify(c.id)}`);
      assert.equal(hex(feastFeatureField(c.view, c.feature)), field, `name ${JSON.stringify(`${c.view}:${c.feature}`)}`);
      assert.equal(hex(encodeFeastValue({ type: 'float32-list', value: new Float32Array([c.x, c.x]) })), value, `value ${c.x}`);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
