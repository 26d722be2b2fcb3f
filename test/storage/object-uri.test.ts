/** Object URIs: parsing every scheme, literal keys, bucket and container rules, joining, topology locations. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CentaurError } from '../../src/core/errors.js';
import { formatObjectUri, joinObjectUri, locationToUri, parseObjectUri } from '../../src/storage/object-uri.js';

test('s3:// and azure:// split into bucket and a literal key', () => {
  assert.deepEqual(parseObjectUri('s3://lake/images/ab/abc.jpg'), { scheme: 's3', bucket: 'lake', key: 'images/ab/abc.jpg' });
  assert.deepEqual(parseObjectUri('azure://uploads/cam 1/a%20b.jpg'), { scheme: 'azure', bucket: 'uploads', key: 'cam 1/a%20b.jpg' });
  assert.deepEqual(parseObjectUri('S3://my.bucket-1'), { scheme: 's3', bucket: 'my.bucket-1', key: '' });
  assert.deepEqual(parseObjectUri('s3://lake/'), { scheme: 's3', bucket: 'lake', key: '' });
});

test('file:// is an absolute path, percent-decoded', () => {
  assert.deepEqual(parseObjectUri('file:///tmp/a%20b/c.jpg'), { scheme: 'file', bucket: '', key: '/tmp/a b/c.jpg' });
});

test('malformed URIs and unknown schemes are OBJECT_FETCH_FAILED naming the URI', () => {
  const cases: [string, RegExp][] = [
    ['gs://bucket/key', /unsupported scheme `gs:\/\/`/],
    ['s3://Upper/key', /`Upper` is not a valid bucket name/],
    ['s3://ab/key', /`ab` is not a valid bucket name/],
    ['azure://has--two/key', /`has--two` is not a valid container name/],
    ['azure://dots.not.allowed/key', /not a valid container name/],
    ['just/a/path.jpg', /not a URI/],
    ['file://host/share/x.jpg', /cannot use file:\/\/host/],
  ];
  for (const [uri, message] of cases) {
    assert.throws(
      () => parseObjectUri(uri),
      (error: unknown) => error instanceof CentaurError && error.code === 'OBJECT_FETCH_FAILED' && error.message.includes(uri) && message.test(error.message),
      uri,
    );
  }
});

test('join appends segments to the key; format writes the URI back', () => {
  const lake = parseObjectUri('s3://lake/archive/');
  assert.equal(formatObjectUri(joinObjectUri(lake, 'images', 'ab/abc.jpg')), 's3://lake/archive/images/ab/abc.jpg');
  assert.equal(formatObjectUri(joinObjectUri(parseObjectUri('azure://cam'), 'x')), 'azure://cam/x');
  const local = parseObjectUri(pathToFileURL('/tmp/lake').href);
  assert.equal(formatObjectUri(joinObjectUri(local, 'dt=2026-01-02', 'part.jsonl')), 'file:///tmp/lake/dt=2026-01-02/part.jsonl');
});

test('a topology location is a URI, or a folder relative to the topology file', () => {
  assert.equal(locationToUri('s3://lake/x', '/topologies'), 's3://lake/x');
  assert.equal(locationToUri('../out/lake', '/srv/centaur/topologies'), pathToFileURL(path.resolve('/srv/centaur/out/lake')).href);
  assert.equal(locationToUri('/abs/lake', '/srv/centaur'), 'file:///abs/lake');
});
