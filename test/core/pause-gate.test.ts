import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PauseGate } from '../../src/core/pause-gate.js';

test('whilePaused waits until resume or stop; sleep ends early on either', async () => {
  const gate = new PauseGate();
  await gate.whilePaused(); // not paused: at once
  gate.pause();
  let resumed = false;
  const waiting = gate.whilePaused().then(() => (resumed = true));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(resumed, false, 'still paused');
  gate.resume();
  await waiting;
  assert.equal(resumed, true);

  let started = Date.now();
  const sleeping = gate.sleep(10_000);
  setTimeout(() => gate.resume(), 10);
  await sleeping;
  assert.ok(Date.now() - started < 5_000, 'resume ends the sleep');

  gate.pause();
  started = Date.now();
  const paused = gate.whilePaused();
  assert.equal(gate.stopped, false);
  gate.stop();
  await paused;
  assert.equal(gate.stopped, true);
  await gate.sleep(0);
  assert.ok(Date.now() - started < 5_000, 'stop ends the pause');
});
