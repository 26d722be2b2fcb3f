/**
 * The architecture as a test: the import rules of .dependency-cruiser.cjs hold for every file in
 * src/, and docs/ARCHITECTURE.md names each rule and each folder of src/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cruise } from 'dependency-cruiser';
import type { ICruiseResult, IConfiguration } from 'dependency-cruiser';

const config = createRequire(import.meta.url)('../../.dependency-cruiser.cjs') as IConfiguration;

test('no import breaks the boundary rules', async () => {
  const result = await cruise(['src'], { validate: true, ruleSet: config, ...config.options });
  const output = result.output as ICruiseResult;
  const violations = output.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}${v.cycle === undefined ? '' : ` (${v.cycle.map((c) => c.name).join(' → ')})`}`);
  assert.deepEqual(violations, []);
  assert.ok(output.summary.totalCruised > 200, `cruised ${output.summary.totalCruised} modules`);
  // Every relative import was resolved to a file, so the rules saw the real graph.
  const unresolved = output.modules.flatMap((m) => m.dependencies.filter((d) => d.couldNotResolve && d.module.startsWith('.')).map((d) => `${m.source} → ${d.module}`));
  assert.deepEqual(unresolved, []);
});

test('docs/ARCHITECTURE.md names every rule and every folder of src/', async () => {
  const doc = await readFile('docs/ARCHITECTURE.md', 'utf8');
  for (const rule of config.forbidden ?? []) assert.ok(doc.includes(`\`${rule.name}\``), `ARCHITECTURE.md should explain rule \`${rule.name}\``);
  const developing = await readFile('docs/DEVELOPING.md', 'utf8');
  for (const entry of await readdir('src', { withFileTypes: true })) {
    if (entry.isDirectory()) assert.ok(developing.includes(`src/${entry.name}/`), `DEVELOPING.md's folder map should name src/${entry.name}/`);
  }
});

test('a rule catches what it forbids (a component importing another component)', async () => {
  const result = await cruise(['src'], { validate: true, ruleSet: config, ...config.options, baseDir: 'test/fixtures/boundaries' });
  const names = (result.output as ICruiseResult).summary.violations.map((v) => v.rule.name).sort();
  // operators/a → sinks/b and core/c → operators/a reach components; core/c also leaves core.
  assert.deepEqual(names, ['components-only-through-the-registry', 'components-only-through-the-registry', 'core-is-the-floor']);
});
