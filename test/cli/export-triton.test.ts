import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportTritonCommand } from '../../src/cli/export-triton.js';

function capture(): { out: string[]; err: string[]; io: { out(text: string): void; err(text: string): void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (text) => out.push(text), err: (text) => err.push(text) } };
}

test('export-triton: the flags reach config.pbtxt; the command says what it wrote', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-export-triton-'));
  try {
    const { out, err, io } = capture();
    const code = await exportTritonCommand(
      'models/demo',
      { out: dir, maxBatch: '32', preferred: '8, 16', maxQueueDelayUs: '2000', instances: '3', kind: 'kind_cpu', version: '4' },
      io,
    );
    assert.equal(code, 0, err.join('\n'));
    const config = await readFile(path.join(dir, 'horse-or-human', 'config.pbtxt'), 'utf8');
    for (const line of ['max_batch_size: 32', 'preferred_batch_size: [ 8, 16 ]', 'max_queue_delay_microseconds: 2000', 'count: 3', 'kind: KIND_CPU']) {
      assert.ok(config.includes(line), `${line} in\n${config}`);
    }
    assert.match(out.join('\n'), /wrote .*horse-or-human\/config\.pbtxt[\s\S]*horse-or-human\/4\/model\.onnx[\s\S]*model horse-or-human version 4: max_batch_size 32, preferred 8, 16, max queue delay 2000 µs, 3 × KIND_CPU/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('export-triton: bad flags are each reported, exit 2, nothing written; a bad model folder is exit 2 too', async () => {
  const { err, io } = capture();
  assert.equal(await exportTritonCommand('models/demo', { out: '/nonexistent/never', maxBatch: 'x', preferred: '8,0', kind: 'TPU', instances: '-1' }, io), 2);
  const text = err.join('\n');
  for (const part of ['--max-batch must be an integer of at least 1, got "x"', '--preferred (entry 2) must be an integer of at least 1, got "0"', '--instances', '--kind must be one of KIND_AUTO, KIND_GPU, KIND_CPU, got "TPU"']) {
    assert.ok(text.includes(part), `${part} in\n${text}`);
  }
  const second = capture();
  assert.equal(await exportTritonCommand('no/such/model', { out: '/nonexistent/never' }, second.io), 2);
  assert.match(second.err.join('\n'), /MODEL_LOAD_FAILED: .*manifest\.json: cannot read the manifest/);
});
