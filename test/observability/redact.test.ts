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
