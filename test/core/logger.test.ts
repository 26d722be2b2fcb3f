import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

/** Logs one line from a child process with the given CENTAUR_LOG_FORMAT and returns its stderr. */
function logLine(format: string): string {
  const script = "import { createLogger } from './src/core/logger.ts'; createLogger('info').child({ topology: 'cams', node: 'decode' }).warn({ traceId: 't-1' }, 'Input dead-lettered.');";
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, CENTAUR_LOG_FORMAT: format, NO_COLOR: '1' }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stderr;
}

test('JSON log lines carry level, message, topology, node and trace id', () => {
  const line = JSON.parse(logLine('json').trim()) as Record<string, unknown>;
  assert.equal(line.level, 40);
  assert.equal(line.msg, 'Input dead-lettered.');
  assert.equal(line.topology, 'cams');
  assert.equal(line.node, 'decode');
  assert.equal(line.traceId, 't-1');
});

test('pretty format is one readable line with the level word and the fields', () => {
  const text = logLine('pretty');
  assert.throws(() => JSON.parse(text.trim()));
  assert.match(text, /WARN/);
  assert.match(text, /Input dead-lettered\./);
  assert.match(text, /"topology":"cams"/);
  assert.equal(text.trim().split('\n').length, 1);
});
