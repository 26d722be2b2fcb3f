/**
 * Every example a component spec shows (docs/components.md renders them) is a valid node: its
 * `${NAME}` references substituted as a topology's are, it passes the option schema and the spec's
 * own cross-field rules. So the documented examples cannot rot, and the compliance suite, which
 * runs each spec's first example, starts from options a user could write.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import { substituteEnv } from '../../src/topology/env-substitution.js';
import { allComponents } from '../../src/topology/registry.js';

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
/** Any value works for validation; the compliance suite substitutes the real services. */
const env = new Proxy<Record<string, string>>({}, { get: (_target, name) => (name === 'CENTAUR_KAFKA_BROKERS' ? '127.0.0.1:9092' : `http://example.test/${String(name)}`) });

for (const spec of allComponents) {
  test(`${spec.kind}: every example is a valid node`, () => {
    assert.ok(spec.examples.length >= 1);
    for (const example of spec.examples) {
      assert.ok(example.title.length > 0 && !example.title.includes('\n'));
      const unset: string[] = [];
      const options = substituteEnv(structuredClone(example.options), [], env, new Set(), (_p, name) => unset.push(name)) as Record<string, unknown>;
      assert.deepEqual(unset, []);
      const validate = ajv.compile(spec.options);
      assert.ok(validate(options), `${example.title}: ${ajv.errorsText(validate.errors)}`);
      const problems = spec.validate?.(options, { nodeId: 'example', baseDir: process.cwd() }) ?? [];
      assert.deepEqual(problems, [], `${example.title}: the spec's own rules`);
    }
  });
}
