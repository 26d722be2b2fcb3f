import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseListenAddress } from '../../src/cli/main.js';

test('--http accepts host:port, [v6]:port, :port and a bare port', () => {
  assert.deepEqual(parseListenAddress('0.0.0.0:9464'), { host: '0.0.0.0', port: 9464 });
  assert.deepEqual(parseListenAddress('[::1]:8080'), { host: '::1', port: 8080 });
  assert.deepEqual(parseListenAddress(':0'), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseListenAddress('9100'), { host: '127.0.0.1', port: 9100 });
  assert.deepEqual(parseListenAddress('localhost:80'), { host: 'localhost', port: 80 });
});

test('--http rejects what is not an address', () => {
  for (const bad of ['', 'host', 'host:', 'host:99999', 'host:port', '1.2.3.4:5:6']) assert.equal(parseListenAddress(bad), null, bad);
});
