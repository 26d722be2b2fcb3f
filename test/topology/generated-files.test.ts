import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { generatedFiles } from '../../src/reference/generated-files.js';
import { ERROR_CODES } from '../../src/core/errors.js';

for (const [file, expected] of Object.entries(generatedFiles())) {
  test(`${file} is up to date with the code (run \`npm run generate\`)`, async () => {
    assert.equal(await readFile(file, 'utf8'), expected);
  });
}

test('every error code is documented in docs/errors.md', async () => {
  const doc = await readFile('docs/errors.md', 'utf8');
  for (const code of Object.keys(ERROR_CODES)) assert.match(doc, new RegExp(`\\| \`${code}\` \\|`));
});

test('the generated JSON Schema accepts the example topologies and rejects a misspelt option', async () => {
  const schema = JSON.parse(generatedFiles()['schemas/topology.schema.json'] as string) as object;
  const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
  const demo: unknown = parse(await readFile('topologies/demo.yaml', 'utf8'));
  assert.ok(validate(demo), JSON.stringify(validate.errors));
  const bad = structuredClone(demo) as { nodes: Record<string, Record<string, unknown>> };
  (bad.nodes.decode as Record<string, unknown>).sise = [1, 1];
  assert.equal(validate(bad), false);
});
