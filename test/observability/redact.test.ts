import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactSecrets } from '../../src/observability/redact.js';

test('values under secret-looking keys are redacted at any depth; other values are kept', () => {
  const config = {
    name: 'cams',
    nodes: [
      {
        id: 'in',
        options: {
          brokers: ['127.0.0.1:9092'],
          sasl: { mechanism: 'plain', username: 'svc', password: 'hunter2' },
          schemaRegistry: { url: 'https://svc:s3cret@registry.example:8081', apiKey: 'abc' },
          ssl: { privateKey: 'PEM' },
          token: 'xyz',
          key: 'cameraId',
        },
      },
    ],
  };
  assert.deepEqual(redactSecrets(config), {
    name: 'cams',
    nodes: [
      {
        id: 'in',
        options: {
          brokers: ['127.0.0.1:9092'],
          sasl: { mechanism: 'plain', username: 'svc', password: '[redacted]' },
          schemaRegistry: { url: 'https://svc:[redacted]@registry.example:8081', apiKey: '[redacted]' },
          ssl: { privateKey: '[redacted]' },
          token: '[redacted]',
          key: 'cameraId',
        },
      },
    ],
  });
});

test('redaction copies: the original configuration is untouched', () => {
  const options = { password: 'p' };
  redactSecrets(options);
  assert.equal(options.password, 'p');
});

test('Azure credentials are redacted: connection strings and account keys by key, keys inside any text, SAS and presigned signatures in URLs', () => {
  const key = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
  const connection = `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${key};EndpointSuffix=core.windows.net`;
  const redacted = redactSecrets({
    azure: { connectionString: connection, accountName: 'acct', accountKey: key, accountUrl: 'https://acct.blob.core.windows.net/?sv=2022-11-02&ss=b&sig=abc%2Fdef%3D&se=2027-01-01' },
    sasToken: 'sv=2022&sig=xyz',
    note: `copied from ${connection}`,
    presigned: 'https://bucket.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261208&X-Amz-Signature=deadbeef',
  }) as Record<string, Record<string, string> | string>;
  const text = JSON.stringify(redacted);
  for (const secret of [key, 'abc%2Fdef%3D', 'xyz', 'deadbeef', 'AKIA']) assert.ok(!text.includes(secret), `${secret} is gone: ${text}`);
  assert.deepEqual(redacted.azure, {
    connectionString: '[redacted]',
    accountName: 'acct',
    accountKey: '[redacted]',
    accountUrl: 'https://acct.blob.core.windows.net/?sv=2022-11-02&ss=b&sig=[redacted]&se=2027-01-01',
  });
  assert.equal(redacted.note, 'copied from DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=[redacted];EndpointSuffix=core.windows.net');
});

test('keys that merely contain the letters of a secret word stay visible', () => {
  assert.deepEqual(redactSecrets({ disaster: 'recovery', usesAsync: true, classes: 3 }), { disaster: 'recovery', usesAsync: true, classes: 3 });
});
