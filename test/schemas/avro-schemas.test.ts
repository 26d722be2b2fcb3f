/**
 * The Avro schemas downstream systems rely on (`schemas/avro/`): documented, namespaced, and
 * evolving only backward-compatibly. Every released version is kept in `schemas/avro/history/
 * <name>/v<N>.avsc`; the newest one must equal the current schema (so a change adds a version),
 * and each version must read data written with every earlier one. The registry test checks the
 * same rule with the real schema registry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import avro from 'avsc';
import { AvroRegistryCodec, BUILTIN_SCHEMAS } from '../../src/kafka/schema-registry.js';
import { CentaurError } from '../../src/core/errors.js';
import { REGISTRY_URL, requireServices, unique } from '../helpers/kafka.js';

const DIR = path.resolve('schemas/avro');

interface Field {
  name: string;
  type: unknown;
  doc?: string;
  default?: unknown;
}

async function versions(name: string): Promise<{ version: number; text: string }[]> {
  const dir = path.join(DIR, 'history', name);
  const files = (await readdir(dir)).filter((f) => /^v\d+\.avsc$/.test(f));
  const list = await Promise.all(files.map(async (f) => ({ version: Number(f.slice(1, -5)), text: await readFile(path.join(dir, f), 'utf8') })));
  return list.sort((a, b) => a.version - b.version);
}

function parse(text: string): avro.Type {
  return avro.Type.forSchema(JSON.parse(text) as avro.Schema);
}

/** Every record field, at any depth. */
function fields(schema: unknown): Field[] {
  if (Array.isArray(schema)) return schema.flatMap(fields);
  if (typeof schema !== 'object' || schema === null) return [];
  const s = schema as { type?: unknown; fields?: Field[]; items?: unknown; values?: unknown };
  const own = s.fields ?? [];
  return [...own, ...own.flatMap((f) => fields(f.type)), ...fields(s.items), ...fields(s.values), ...(typeof s.type === 'object' ? fields(s.type) : [])];
}

test('the built-in schema list matches the files', async () => {
  const files = (await readdir(DIR)).filter((f) => f.endsWith('.avsc')).map((f) => f.slice(0, -5)).sort();
  assert.deepEqual(files, [...BUILTIN_SCHEMAS].sort());
});

for (const name of BUILTIN_SCHEMAS) {
  test(`${name}: valid Avro, namespaced, every field documented, optional fields have defaults`, async () => {
    const text = await readFile(path.join(DIR, `${name}.avsc`), 'utf8');
    const schema = JSON.parse(text) as { namespace?: string; doc?: string };
    parse(text);
    assert.match(schema.namespace ?? '', /^dev\.centaur\.v\d+$/);
    assert.ok((schema.doc ?? '').length > 10, 'the record has a doc');
    for (const field of fields(schema)) {
      assert.ok((field.doc ?? '').length > 0, `field \`${field.name}\` has a doc`);
      if (Array.isArray(field.type) && field.type.includes('null')) assert.ok('default' in field, `optional field \`${field.name}\` has a default`);
    }
  });

  test(`${name}: the newest released version is the current schema, and every version reads all earlier ones`, async () => {
    const current = await readFile(path.join(DIR, `${name}.avsc`), 'utf8');
    const released = await versions(name);
    assert.ok(released.length > 0, `schemas/avro/history/${name}/v1.avsc exists`);
    assert.deepEqual(released.map((v) => v.version), released.map((_, i) => i + 1), 'versions are numbered 1, 2, … without gaps');
    const newest = released[released.length - 1] as { text: string };
    assert.ok(parse(current).equals(parse(newest.text)), `schemas/avro/${name}.avsc changed: copy it to history/${name}/v${released.length + 1}.avsc (it must stay backward compatible)`);
    for (const [i, reader] of released.entries()) {
      for (const writer of released.slice(0, i)) {
        assert.doesNotThrow(() => parse(reader.text).createResolver(parse(writer.text)), `v${reader.version} cannot read data written with v${writer.version}`);
      }
    }
  });
}

test('the compatibility check catches an incompatible change (a new field without a default)', () => {
  const original = parse(JSON.stringify({ type: 'record', name: 'R', fields: [{ name: 'a', type: 'string' }] }));
  const broken = parse(JSON.stringify({ type: 'record', name: 'R', fields: [{ name: 'a', type: 'string' }, { name: 'b', type: 'string' }] }));
  const evolved = parse(JSON.stringify({ type: 'record', name: 'R', fields: [{ name: 'a', type: 'string' }, { name: 'b', type: ['null', 'string'], default: null }] }));
  assert.throws(() => broken.createResolver(original));
  assert.doesNotThrow(() => evolved.createResolver(original));
});

test('the schema registry accepts every released version in order under BACKWARD, and refuses an incompatible one', async (t) => {
  if (!(await requireServices(t))) return;
  const codec = await AvroRegistryCodec.create({ url: REGISTRY_URL });
  for (const name of BUILTIN_SCHEMAS) {
    const subject = unique(`${name}-value`);
    for (const v of await versions(name)) assert.ok((await codec.register(subject, v.text)) > 0);
    assert.ok((await codec.register(subject, await readFile(path.join(DIR, `${name}.avsc`), 'utf8'))) > 0);
  }
  const subject = unique('frames-value');
  const frame = JSON.parse(await readFile(path.join(DIR, 'camera-frame.avsc'), 'utf8')) as { fields: Field[] };
  await codec.register(subject, JSON.stringify(frame));
  const incompatible = { ...frame, fields: [...frame.fields, { name: 'required', type: 'string', doc: 'no default' }] };
  await assert.rejects(codec.register(subject, JSON.stringify(incompatible)), (error: unknown) => error instanceof CentaurError && error.code === 'SCHEMA_INCOMPATIBLE');
});
