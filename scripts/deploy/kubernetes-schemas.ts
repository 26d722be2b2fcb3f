/**
 * Writes the JSON schemas that kubeconform checks deploy/kubernetes against, from files already on
 * disk (scripts/deploy/validate-kubernetes.sh fetches them as Go modules):
 *
 * - Kubernetes' own kinds from the OpenAPI v2 document of the `k8s.io/kubernetes` module
 *   (`api/openapi-spec/swagger.json`): one file per group/version/kind, in kubeconform's default
 *   layout `<out>/v<version>-standalone-strict/<kind>[-<group>]-<version>.json`;
 * - custom resources from CustomResourceDefinition files (KEDA's, the prometheus-operator's): one
 *   file per served version, as `<out>/crds/<group>/<kind>_<version>.json`.
 *
 * Every schema is standalone (the definitions it reaches are copied into it) and strict: an object
 * that declares its properties rejects any other, as `kubectl apply --validate=strict` does, unless
 * Kubernetes keeps unknown fields there (`x-kubernetes-preserve-unknown-fields`). Quantities take
 * a string or a number, int-or-string fields a string or an integer, as the API server does.
 *
 *   node --import tsx scripts/deploy/kubernetes-schemas.ts --swagger swagger.json \
 *     --kubernetes-version 1.35.4 --out DIR [--crd FILE.yaml]...
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

type Schema = { [key: string]: unknown };

interface Gvk {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

const DEFINITION_PREFIX = '#/definitions/';
const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

/** Definitions replaced by what the API server accepts for them. */
const REPLACED: Readonly<Record<string, Schema>> = {
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': { oneOf: [{ type: 'string' }, { type: 'integer' }] },
  'io.k8s.apimachinery.pkg.api.resource.Quantity': { oneOf: [{ type: 'string' }, { type: 'number' }] },
};

const isSchema = (value: unknown): value is Schema => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * A copy of a schema made strict, without descriptions and Kubernetes' `x-` annotations (kubeconform
 * ignores them; dropping them keeps the files small).
 */
function strictSchema(schema: Schema): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'description' || key.startsWith('x-')) continue;
    if (key === 'properties' && isSchema(value)) {
      out.properties = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, isSchema(sub) ? strictSchema(sub) : sub]));
    } else if ((key === 'items' || key === 'additionalProperties' || key === 'not') && isSchema(value)) {
      out[key] = strictSchema(value);
    } else if ((key === 'allOf' || key === 'anyOf' || key === 'oneOf') && Array.isArray(value)) {
      out[key] = value.map((sub: unknown) => (isSchema(sub) ? strictSchema(sub) : sub));
    } else {
      out[key] = value;
    }
  }
  const declaresProperties = isSchema(schema.properties) && Object.keys(schema.properties).length > 0;
  if (declaresProperties && schema.additionalProperties === undefined && schema['x-kubernetes-preserve-unknown-fields'] !== true) {
    out.additionalProperties = false;
  }
  return out;
}

/** The names of the definitions a schema refers to, directly or through others. */
function reachable(root: Schema, definitions: Readonly<Record<string, Schema>>): Set<string> {
  const found = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (!isSchema(value)) return;
    const ref = value.$ref;
    if (typeof ref === 'string' && ref.startsWith(DEFINITION_PREFIX)) {
      const name = ref.slice(DEFINITION_PREFIX.length);
      if (!found.has(name)) {
        found.add(name);
        const target = definitions[name];
        if (target === undefined) throw new Error(`unknown definition ${name}`);
        visit(target);
      }
    }
    for (const sub of Object.values(value)) visit(sub);
  };
  visit(root);
  return found;
}

/** A standalone strict schema: the root, apiVersion and kind pinned, with the definitions it needs. */
function standalone(root: Schema, gvk: Gvk, definitions: Readonly<Record<string, Schema>>): Schema {
  const apiVersion = gvk.group === '' ? gvk.version : `${gvk.group}/${gvk.version}`;
  const schema = strictSchema(root);
  const properties = isSchema(schema.properties) ? schema.properties : {};
  schema.properties = { ...properties, apiVersion: { type: 'string', enum: [apiVersion] }, kind: { type: 'string', enum: [gvk.kind] } };
  const needed = [...reachable(schema, definitions)].sort();
  return {
    $schema: 'http://json-schema.org/draft-04/schema#',
    ...schema,
    ...(needed.length === 0 ? {} : { definitions: Object.fromEntries(needed.map((name) => [name, REPLACED[name] ?? strictSchema(definitions[name] as Schema)])) }),
  };
}

/** kubeconform's default file name: `deployment-apps-v1.json`, `service-v1.json`, `ingress-networking-v1.json`. */
function kubeconformFileName(gvk: Gvk): string {
  const groupPart = gvk.group === '' ? '' : `-${(gvk.group.split('.')[0] as string).toLowerCase()}`;
  return `${gvk.kind.toLowerCase()}${groupPart}-${gvk.version.toLowerCase()}.json`;
}

async function writeJson(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(value)}\n`);
}

/** Writes one schema per kind of the OpenAPI v2 document; returns how many. */
async function writeBuiltIn(swagger: Schema, dir: string): Promise<number> {
  const definitions = swagger.definitions as Record<string, Schema>;
  let count = 0;
  for (const [name, definition] of Object.entries(definitions)) {
    const gvks = definition['x-kubernetes-group-version-kind'] as Gvk[] | undefined;
    // Kinds that many groups share (DeleteOptions, WatchEvent) are no resources to validate.
    if (gvks?.length !== 1 || REPLACED[name] !== undefined) continue;
    const gvk = gvks[0] as Gvk;
    await writeJson(path.join(dir, kubeconformFileName(gvk)), standalone(definition, gvk, definitions));
    count += 1;
  }
  return count;
}

interface CrdVersion {
  name: string;
  served?: boolean;
  schema?: { openAPIV3Schema?: Schema };
}
interface Crd {
  kind?: string;
  spec?: { group: string; names: { kind: string }; versions: CrdVersion[] };
}

/** Writes one schema per served version of each CRD in a file; returns how many. */
async function writeCrds(file: string, swagger: Schema, dir: string): Promise<number> {
  const definitions = swagger.definitions as Record<string, Schema>;
  let count = 0;
  for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message ?? 'invalid YAML'}`);
    const crd = doc.toJS() as Crd | null;
    if (crd?.kind !== 'CustomResourceDefinition' || crd.spec === undefined) continue;
    const { group, names } = crd.spec;
    for (const version of crd.spec.versions) {
      const root = version.schema?.openAPIV3Schema;
      if (version.served === false || root === undefined) continue;
      // A CRD's `metadata` is a bare object: check it as the ObjectMeta the API server reads.
      const withMeta: Schema = { ...root, properties: { ...(isSchema(root.properties) ? root.properties : {}), metadata: { $ref: `${DEFINITION_PREFIX}${OBJECT_META}` } } };
      const out = path.join(dir, group, `${names.kind.toLowerCase()}_${version.name}.json`);
      await writeJson(out, standalone(withMeta, { group, version: version.name, kind: names.kind }, definitions));
      count += 1;
    }
  }
  return count;
}

function parseArgs(argv: readonly string[]): { swagger: string; version: string; out: string; crds: string[] } {
  const crds: string[] = [];
  let swagger: string | undefined;
  let version: string | undefined;
  let out: string | undefined;
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag ?? ''} needs a value`);
    if (flag === '--swagger') swagger = value;
    else if (flag === '--kubernetes-version') version = value;
    else if (flag === '--out') out = value;
    else if (flag === '--crd') crds.push(value);
    else throw new Error(`unknown flag ${flag ?? ''}`);
  }
  if (swagger === undefined || version === undefined || out === undefined) throw new Error('usage: --swagger FILE --kubernetes-version X.Y.Z --out DIR [--crd FILE]...');
  return { swagger, version, out, crds };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const swagger = JSON.parse(await readFile(args.swagger, 'utf8')) as Schema;
  const builtIn = await writeBuiltIn(swagger, path.join(args.out, `v${args.version}-standalone-strict`));
  let custom = 0;
  for (const file of args.crds) custom += await writeCrds(file, swagger, path.join(args.out, 'crds'));
  console.log(`kubernetes-schemas: ${builtIn} built-in kinds (Kubernetes ${args.version}), ${custom} custom resource versions → ${args.out}`);
}

main().catch((error: unknown) => {
  console.error(`kubernetes-schemas: ${(error as Error).message}`);
  process.exit(1);
});
