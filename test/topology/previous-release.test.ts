/**
 * Upgrades keep working topologies working: every example topology of the previous release
 * (0.1.0, kept verbatim in test/fixtures/topologies-0.1.0/) still validates, read as if it stood
 * where it was shipped (topologies/), so its relative paths mean what they meant.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseTopology } from '../../src/topology/load.js';

const FIXTURES = 'test/fixtures/topologies-0.1.0';
const ENV = { KAFKA_BROKERS: '127.0.0.1:9092', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081' };

test('the previous release’s example topologies still validate', async () => {
  const files = (await readdir(FIXTURES)).filter((f) => f.endsWith('.yaml')).sort();
  assert.ok(files.length >= 5, `fixtures: ${files.join(', ')}`);
  for (const name of files) {
    const text = await readFile(path.join(FIXTURES, name), 'utf8');
    assert.doesNotThrow(() => parseTopology(text, path.join('topologies', name), { env: ENV }), name);
  }
});
