import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { CentaurError } from '../../src/core/errors.js';
import { assertModelMetadata, checkModelMetadata } from '../../src/inference/kserve/metadata-check.js';
import type { ModelMetadata } from '../../src/inference/kserve/types.js';
import type { Manifest } from '../../src/inference/manifest.js';

const MANIFEST_FILE = fileURLToPath(new URL('../../models/demo/manifest.json', import.meta.url));
const manifest = JSON.parse(await readFile(MANIFEST_FILE, 'utf8')) as Manifest;
const SIDES = { server: 'http://127.0.0.1:8000', manifestFile: MANIFEST_FILE };

/** What the kserve test service reports for the demo model, with `edit` applied. */
function served(edit: (m: { -readonly [K in keyof ModelMetadata]: ModelMetadata[K] }) => void = () => {}): ModelMetadata {
  const metadata = {
    name: 'horse-or-human',
    versions: ['1'],
    platform: 'onnxruntime',
    inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 224, 224, 3] }],
    outputs: [
      { name: 'embedding', datatype: 'FP32', shape: [-1, 1280] },
      { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
    ],
    maxBatchSize: 64,
  };
  edit(metadata);
  return metadata;
}

test('the served demo model matches its manifest: FP32 input, the batch limit passed on', () => {
  const check = checkModelMetadata(manifest, served());
  assert.deepEqual(check.problems, []);
  assert.equal(check.inputDatatype, 'FP32');
  assert.equal(check.maxBatchSize, 64);
  assert.deepEqual(assertModelMetadata(manifest, served(), SIDES), { inputDatatype: 'FP32', maxBatchSize: 64 });
});

test('an FP16 model input is fine for a float32 manifest (the client converts); -1 anywhere is fine', () => {
  const check = checkModelMetadata(
    manifest,
    served((m) => {
      m.inputs = [{ name: 'input', datatype: 'FP16', shape: [-1, -1, -1, 3] }];
      m.outputs = [
        { name: 'embedding', datatype: 'FP16', shape: [-1, -1] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, -1] },
      ];
    }),
  );
  assert.deepEqual(check.problems, []);
  assert.equal(check.inputDatatype, 'FP16');
});

test('a uint8 manifest needs a UINT8 input', () => {
  const uint8 = { ...manifest, input: { ...manifest.input, dtype: 'uint8' as const, scale: 'uint8' as const } };
  assert.equal(checkModelMetadata(uint8, served((m) => (m.inputs = [{ name: 'input', datatype: 'UINT8', shape: [-1, 224, 224, 3] }]))).inputDatatype, 'UINT8');
  const check = checkModelMetadata(uint8, served());
  assert.deepEqual(check.problems, ['input `input`: the server says datatype FP32, the manifest says uint8 (sent as UINT8)']);
  assert.equal(check.inputDatatype, undefined);
});

test('every mismatch is reported, naming both sides', () => {
  const check = checkModelMetadata(
    manifest,
    served((m) => {
      m.inputs = [
        { name: 'input', datatype: 'INT32', shape: [8, 3, 224, 224] },
        { name: 'mask', datatype: 'BOOL', shape: [-1] },
      ];
      m.outputs = [
        { name: 'features', datatype: 'FP32', shape: [-1, 1280] },
        { name: 'probabilities', datatype: 'INT64', shape: [-1, 5] },
      ];
    }),
  );
  assert.deepEqual(check.problems, [
    'input `input`: the server says datatype INT32, the manifest says float32 (sent as FP32 or FP16)',
    'input `input`: the server says shape [8, 3, 224, 224], the manifest says [-1, 224, 224, 3] (NHWC 224×224×3): the batch dimension is fixed at 8; it must be -1 (any batch size)',
    "the server's model has more inputs than the manifest's `input`: `mask` BOOL [-1]; Centaur feeds one input",
    'probabilities output `probabilities`: the server says datatype INT64, Centaur reads FP32, FP16 or FP64',
    'probabilities output `probabilities`: the server says shape [-1, 5], the manifest needs [-1, 2] (2 classes in the manifest): dimension 1 is 5, not 2',
    "the manifest's embedding output `embedding` is not an output of the server's model (outputs: `features` FP32 [-1, 1280], `probabilities` INT64 [-1, 5])",
  ]);
  assert.equal(check.inputDatatype, undefined);
});

test('a wrong input name, layout or rank is named', () => {
  const renamed = checkModelMetadata(manifest, served((m) => (m.inputs = [{ name: 'images', datatype: 'FP32', shape: [-1, 224, 224, 3] }])));
  assert.deepEqual(renamed.problems, [
    "the manifest's input `input` is not an input of the server's model (inputs: `images` FP32 [-1, 224, 224, 3])",
  ]);
  const nchw = checkModelMetadata(manifest, served((m) => (m.inputs = [{ name: 'input', datatype: 'FP32', shape: [-1, 3, 224, 224] }])));
  assert.match(nchw.problems[0] ?? '', /shape \[-1, 3, 224, 224\], the manifest says \[-1, 224, 224, 3\].*dimension 1 is 3, not 224/);
  const rank = checkModelMetadata(manifest, served((m) => (m.outputs = [{ name: 'probabilities', datatype: 'FP32', shape: [-1] }, { name: 'embedding', datatype: 'FP32', shape: [-1, 7, 7, 1280] }])));
  assert.deepEqual(rank.problems, [
    'probabilities output `probabilities`: the server says shape [-1], the manifest needs [-1, 2] (2 classes in the manifest): rank 1, not 2',
    'embedding output `embedding`: the server says shape [-1, 7, 7, 1280], the manifest needs [-1, d] (a batch of embeddings): rank 4, not 2',
  ]);
});

test('assertModelMetadata throws MODEL_METADATA_MISMATCH, a config error, with the server and the manifest file', () => {
  assert.throws(
    () => assertModelMetadata(manifest, served((m) => (m.inputs = [{ name: 'input', datatype: 'FP32', shape: [-1, 112, 112, 3] }])), SIDES),
    (error: CentaurError) => {
      assert.equal(error.code, 'MODEL_METADATA_MISMATCH');
      assert.equal(error.category, 'config');
      assert.equal(error.retriable, false);
      assert.equal(
        error.message,
        `model \`horse-or-human\` on http://127.0.0.1:8000 does not match the manifest ${MANIFEST_FILE}:\n` +
          '  - input `input`: the server says shape [-1, 112, 112, 3], the manifest says [-1, 224, 224, 3] (NHWC 224×224×3): dimension 1 is 112, not 224',
      );
      return true;
    },
  );
});
