/** Key derivation and the stored value format of the `cache` operator. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { CACHE_VALUE_VERSION, cacheKey, contentHash, decodeAnswer, encodeAnswer } from '../../src/cache/cache-entry.js';
import type { ImageFeatures } from '../../src/core/envelope.js';

const MODEL = { name: 'horse-or-human', version: '3' };

test('the key is the namespace, model name and version and the SHA-256 of the bytes', () => {
  const bytes = Buffer.from('an image');
  const hash = contentHash(bytes);
  assert.equal(hash, createHash('sha256').update(bytes).digest('hex'));
  assert.equal(cacheKey('centaur:cache:', 'prod', MODEL, hash), `centaur:cache:prod:horse-or-human:3:${hash}`);
  assert.equal(contentHash(Buffer.from('an image')), hash, 'same bytes, same key');
  assert.notEqual(contentHash(Buffer.from('an imagf')), hash);
  assert.notEqual(cacheKey('p:', 'prod', { ...MODEL, version: '4' }, hash), cacheKey('p:', 'prod', MODEL, hash), 'a new version misses');
  assert.notEqual(cacheKey('p:', 'other', MODEL, hash), cacheKey('p:', 'prod', MODEL, hash));
  // A `:` in a name cannot make two different (name, version) pairs collide.
  assert.notEqual(cacheKey('p:', 'n', { name: 'a:b', version: 'c' }, hash), cacheKey('p:', 'n', { name: 'a', version: 'b:c' }, hash));
});

test('a stored answer reads back exactly, marked cached, with its embedding and image features', () => {
  const image: ImageFeatures = { width: 320, height: 240, format: 'jpeg', brightness: 0.4, contrast: 0.2, sharpness: 0.01 };
  const embedding = new Float32Array([0.1, -2.5, 3.75, Number.MIN_VALUE, 1e-7]);
  const prediction = { label: 'horse', classIndex: 0, confidence: 0.9876543210123, probabilities: [0.9876543210123, 0.0123456789877] };
  const model = { ...MODEL, classes: ['horse', 'human'] };
  const value = encodeAnswer({ prediction, model, image, embedding }, true);
  assert.ok(value !== null);
  assert.equal(value[0], CACHE_VALUE_VERSION);
  const answer = decodeAnswer(value);
  assert.ok(answer !== null);
  assert.deepEqual(answer.prediction, { ...prediction, cached: true });
  assert.deepEqual(answer.model, model);
  assert.deepEqual(answer.image, image);
  assert.deepEqual(answer.embedding, embedding);
});

test('without the embedding the value holds the prediction only', () => {
  const prediction = { label: 'human', classIndex: 1, confidence: 0.6, probabilities: [0.4, 0.6] };
  const value = encodeAnswer({ prediction, model: MODEL, embedding: new Float32Array(1280) }, false);
  assert.ok(value !== null && value.length < 200);
  const answer = decodeAnswer(value);
  assert.equal(answer?.embedding, undefined);
  assert.equal(answer?.image, undefined);
  assert.equal(answer?.prediction.cached, true);
});

test('an envelope without a prediction or model is not stored', () => {
  assert.equal(encodeAnswer({ model: MODEL }, true), null);
  assert.equal(encodeAnswer({ prediction: { label: 'a', classIndex: 0, confidence: 1, probabilities: [1] } }, true), null);
});

test('values this version did not write read as misses, never errors', () => {
  const good = encodeAnswer({ prediction: { label: 'a', classIndex: 0, confidence: 1, probabilities: [1] }, model: MODEL, embedding: new Float32Array([1, 2]) }, true) as Buffer;
  const other = Buffer.from(good);
  other[0] = CACHE_VALUE_VERSION + 1;
  for (const bad of [Buffer.alloc(0), Buffer.from('plain string'), other, good.subarray(0, good.length - 1), Buffer.concat([good, Buffer.from([0])])]) {
    assert.equal(decodeAnswer(bad), null);
  }
  const header = Buffer.from(JSON.stringify({ p: { label: 1 }, m: {}, e: 0 }));
  const wrongShape = Buffer.concat([Buffer.from([CACHE_VALUE_VERSION, header.length, 0, 0, 0]), header]);
  assert.equal(decodeAnswer(wrongShape), null);
});
