/** `centaur bench clients` recommends the client with the best pipeline, breaking near-ties by the relay. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recommend } from '../../src/bench/clients-scenario.js';
import { summarize } from '../../src/bench/figures.js';

const row = (client: 'confluent' | 'node-rdkafka' | 'kafkajs', pipeline: number[], relay: number[]) => ({ client, pipeline: summarize(pipeline), relay: summarize(relay) });

test('recommend: the best pipeline wins when the others are clearly slower', () => {
  assert.equal(recommend([row('kafkajs', [100, 101, 102], [9000, 9100, 9200]), row('confluent', [140, 141, 142], [3000, 3100, 3200])]), 'confluent');
});

test('recommend: among pipelines whose runs overlap the best one, the faster relay wins', () => {
  const rows = [row('node-rdkafka', [137, 141, 143], [4990, 6399, 7706]), row('confluent', [122, 139, 139], [6238, 9254, 9341]), row('kafkajs', [90, 95, 100], [20000, 20000, 20000])];
  assert.equal(recommend(rows), 'confluent');
});

test('recommend: nothing measured is an error', () => {
  assert.throws(() => recommend([]), RangeError);
});
