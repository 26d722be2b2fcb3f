/**
 * Error mapping: what the S3 SDK, the Azure SDK and Node throw becomes one coded error naming the
 * URI — missing (data, dead letter), denied (data), unavailable (retriable), other refusals.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccessDenied, NoSuchBucket, NoSuchKey, NotFound, S3ServiceException } from '@aws-sdk/client-s3';
import { RestError } from '@azure/storage-blob';
import { CentaurError } from '../../src/core/errors.js';
import { classifyStoreFailure, storeError } from '../../src/storage/store-errors.js';

const URI = 's3://lake/images/ab/abc.jpg';
const meta = (httpStatusCode: number): { httpStatusCode: number } => ({ httpStatusCode });

function s3(name: string, status: number, fault: 'client' | 'server' = status >= 500 ? 'server' : 'client'): S3ServiceException {
  return new S3ServiceException({ name, $fault: fault, message: `${name} happened`, $metadata: meta(status) });
}

function system(code: string, message = `${code} happened`): Error {
  return Object.assign(new Error(message), { code });
}

test('missing objects, buckets and containers are OBJECT_FETCH_FAILED on reads and OBJECT_WRITE_FAILED on writes', () => {
  const missing = [
    new NoSuchKey({ message: 'The specified key does not exist.', $metadata: meta(404) }),
    new NotFound({ message: '', $metadata: meta(404) }),
    new RestError('The specified blob does not exist.', { statusCode: 404, code: 'BlobNotFound' }),
    system('ENOENT'),
  ];
  for (const error of missing) {
    const mapped = storeError(error, URI, 'read');
    assert.equal(mapped.code, 'OBJECT_FETCH_FAILED', String(error));
    assert.equal(mapped.category, 'data');
    assert.equal(mapped.retriable, false);
    assert.match(mapped.message, /^cannot read s3:\/\/lake\/images\/ab\/abc\.jpg: no such object/);
    assert.equal(mapped.cause, error);
  }
  assert.equal(classifyStoreFailure(new NoSuchBucket({ message: 'no bucket', $metadata: meta(404) })), 'missing-bucket');
  assert.equal(classifyStoreFailure(new RestError('gone', { statusCode: 404, code: 'ContainerNotFound' })), 'missing-bucket');
  const write = storeError(new NoSuchBucket({ message: 'The specified bucket does not exist', $metadata: meta(404) }), URI, 'write');
  assert.equal(write.code, 'OBJECT_WRITE_FAILED');
  assert.match(write.message, /cannot write .*: no such bucket or container \(NoSuchBucket, HTTP 404: The specified bucket does not exist\)/);
});

test('refusals are OBJECT_ACCESS_DENIED, a data error naming the URI', () => {
  const denied = [
    new AccessDenied({ message: 'Access Denied', $metadata: meta(403) }),
    s3('SignatureDoesNotMatch', 403),
    s3('InvalidAccessKeyId', 403),
    new RestError('Server failed to authenticate the request.', { statusCode: 403, code: 'AuthorizationFailure' }),
    new RestError('no', { statusCode: 401 }),
    system('EACCES'),
  ];
  for (const error of denied) {
    const mapped = storeError(error, URI, 'read');
    assert.equal(mapped.code, 'OBJECT_ACCESS_DENIED', String(error));
    assert.equal(mapped.category, 'data');
    assert.equal(mapped.retriable, false);
    assert.ok(mapped.message.startsWith(`cannot read ${URI}: access denied`), mapped.message);
  }
});

test('an unreachable, failing or throttling store is OBJECT_STORE_UNAVAILABLE, retriable', () => {
  const refused = new AggregateError([system('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9000'), system('ECONNREFUSED', 'connect ECONNREFUSED ::1:9000')], '');
  const unavailable = [
    system('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9000'),
    refused,
    Object.assign(new Error('fetch failed'), { cause: system('ECONNRESET') }),
    s3('InternalError', 500),
    s3('SlowDown', 503),
    s3('ServiceUnavailable', 503),
    s3('TooManyRequests', 429),
    Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }),
    new RestError('connect ECONNREFUSED 127.0.0.1:10000', { code: 'REQUEST_SEND_ERROR' }),
    new RestError('The server is busy.', { statusCode: 503, code: 'ServerBusy' }),
    system('ENOSPC'),
  ];
  for (const error of unavailable) {
    const mapped = storeError(error, URI, 'write');
    assert.equal(mapped.code, 'OBJECT_STORE_UNAVAILABLE', String(error));
    assert.equal(mapped.category, 'infrastructure');
    assert.equal(mapped.retriable, true);
    assert.ok(mapped.message.startsWith(`cannot write ${URI}: the object store is unavailable`), mapped.message);
  }
  assert.match(storeError(refused, URI, 'read').message, /ECONNREFUSED/);
});

test('other refusals: OBJECT_FETCH_FAILED on reads and lists, OBJECT_WRITE_FAILED on writes; CentaurErrors pass through', () => {
  const bad = s3('InvalidArgument', 400);
  assert.equal(storeError(bad, URI, 'read').code, 'OBJECT_FETCH_FAILED');
  assert.equal(storeError(bad, URI, 'list').code, 'OBJECT_FETCH_FAILED');
  const write = storeError(bad, URI, 'write');
  assert.equal(write.code, 'OBJECT_WRITE_FAILED');
  assert.equal(write.retriable, false);
  assert.equal(write.message, `cannot write ${URI} (InvalidArgument, HTTP 400: InvalidArgument happened)`);
  const own = new CentaurError('OBJECT_TOO_LARGE', 'too big');
  assert.equal(storeError(own, URI, 'read'), own);
});
