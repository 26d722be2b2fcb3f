/**
 * docker-compose.yml's `triton` service, read as data (no Docker engine needed): a pinned NVIDIA
 * image, started only with its profile, serving read-only the folder docs/TRITON.md tells users to
 * export the repository to, on host ports clear of the kserve test service, with a GPU reservation
 * and a readiness health check; and topologies/triton.yaml points at its gRPC port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';

interface ComposeService {
  image?: string;
  profiles?: string[];
  command?: string[] | string;
  ports?: string[];
  volumes?: string[];
  deploy?: { resources?: { reservations?: { devices?: { driver?: string; count?: number | string; capabilities?: string[] }[] } } };
  healthcheck?: { test?: string[] };
}

const compose = parse(await readFile('docker-compose.yml', 'utf8')) as { services: Record<string, ComposeService> };
const triton = compose.services.triton as ComposeService;

/** `127.0.0.1:${VAR:-8100}:8000` → { host: 8100, container: 8000 } (the default where a variable sets the host port). */
function portMapping(entry: string): { host: number; container: number } {
  const match = /^(?:[\d.]+:)?(?:\$\{\w+:-(\d+)\}|(\d+)):(\d+)$/.exec(entry);
  assert.ok(match, `port entry ${entry} is not [ip:]host:container`);
  return { host: Number(match[1] ?? match[2]), container: Number(match[3]) };
}

test('triton: a pinned tritonserver image from nvcr.io, serving /models, only under its profile', () => {
  assert.ok(triton, 'docker-compose.yml has a triton service');
  assert.match(triton.image ?? '', /^nvcr\.io\/nvidia\/tritonserver:\d{2}\.\d{2}-py3$/, 'a pinned release tag, not latest');
  assert.deepEqual(triton.profiles, ['triton']);
  const command = Array.isArray(triton.command) ? triton.command : (triton.command ?? '').split(/\s+/);
  assert.deepEqual(command, ['tritonserver', '--model-repository=/models']);
  // `docker compose up` without a profile (what scripts/services/services.sh runs) starts the others only.
  const unprofiled = Object.entries(compose.services).filter(([, s]) => s.profiles === undefined).map(([name]) => name);
  assert.ok(!unprofiled.includes('triton'));
});

test('triton: the repository is mounted read-only from where docs/TRITON.md exports it', async () => {
  const docs = await readFile('docs/TRITON.md', 'utf8');
  const exported = /centaur models export-triton models\/demo --out (\S+)/.exec(docs);
  assert.ok(exported, 'docs/TRITON.md shows the export command with --out');
  assert.match(docs, /docker compose --profile triton up[^\n]* triton/);
  assert.deepEqual(triton.volumes, [`./${exported[1]}:/models:ro`]);
  const topology = await readFile('topologies/triton.yaml', 'utf8');
  assert.ok(topology.includes(`centaur models export-triton models/demo --out ${exported[1]}`), 'topologies/triton.yaml says the same');
});

test("triton: HTTP, gRPC and metrics ports on host ports the kserve test service does not use; the topology uses the gRPC one", async () => {
  const mappings = (triton.ports ?? []).map(portMapping);
  assert.deepEqual(
    mappings.map((m) => m.container),
    [8000, 8001, 8002],
  );
  const services = await readFile('scripts/services/services.sh', 'utf8');
  const kservePorts = [...services.matchAll(/CENTAUR_KSERVE_(?:HTTP|GRPC)_PORT:-(\d+)/g)].map((m) => Number(m[1]));
  assert.deepEqual(kservePorts, [8000, 8001]);
  for (const { host } of mappings) assert.ok(!kservePorts.includes(host), `host port ${host} clashes with the kserve service`);
  const grpcPort = mappings.find((m) => m.container === 8001)?.host;
  const topology = parse(await readFile('topologies/triton.yaml', 'utf8')) as { nodes: { infer: { backend: { kind: string; protocol: string; endpoint: string } } } };
  assert.deepEqual(topology.nodes.infer.backend, { kind: 'kserve', protocol: 'grpc', endpoint: `127.0.0.1:${grpcPort}` });
});

test('triton: a GPU reservation and a health check on /v2/health/ready', () => {
  const devices = triton.deploy?.resources?.reservations?.devices ?? [];
  assert.equal(devices.length, 1);
  assert.equal(devices[0]?.driver, 'nvidia');
  assert.deepEqual(devices[0]?.capabilities, ['gpu']);
  const check = (triton.healthcheck?.test ?? []).join(' ');
  assert.match(check, /http:\/\/localhost:8000\/v2\/health\/ready/);
});
