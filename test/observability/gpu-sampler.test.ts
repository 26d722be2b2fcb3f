/** The GPU figures of the status API: nvidia-smi's CSV read as numbers, a missing nvidia-smi read as no GPU. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GpuSampler, parseNvidiaSmi } from '../../src/observability/gpu-sampler.js';

const MIB = 1024 * 1024;

test('parseNvidiaSmi: one entry per GPU line, utilisation as a share, memory in bytes; unreadable lines left out', () => {
  const text = '0, NVIDIA H100 80GB HBM3, 37, 1024, 81559\n1, NVIDIA H100 80GB HBM3, [N/A], 10, 81559\n\nnot, a, line\n';
  assert.deepEqual(parseNvidiaSmi(text), [{ index: 0, name: 'NVIDIA H100 80GB HBM3', utilization: 0.37, memoryUsedBytes: 1024 * MIB, memoryTotalBytes: 81559 * MIB }]);
  assert.deepEqual(parseNvidiaSmi(''), []);
});

test('GpuSampler: reads what nvidia-smi answers; no nvidia-smi means no GPU', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-gpu-'));
  const fake = path.join(dir, 'nvidia-smi');
  await writeFile(fake, `#!/bin/sh\n[ "$1" = "--query-gpu=index,name,utilization.gpu,memory.used,memory.total" ] || exit 9\necho "0, Test GPU, 50, 2048, 4096"\n`);
  await chmod(fake, 0o755);
  const sampler = new GpuSampler(fake, 60_000);
  await sampler.start();
  sampler.stop();
  assert.deepEqual(sampler.latest, [{ index: 0, name: 'Test GPU', utilization: 0.5, memoryUsedBytes: 2048 * MIB, memoryTotalBytes: 4096 * MIB }]);

  const none = new GpuSampler(path.join(dir, 'no-such-nvidia-smi'), 10);
  await none.start();
  assert.equal(none.latest, null);
  none.stop();
});
