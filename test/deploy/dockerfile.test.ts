/**
 * The Dockerfile and .dockerignore read as data (no Docker engine needed): two stages on the same
 * pinned Node image (the Node of scripts/node/ensure-node.sh); the build stage installs the -dev
 * packages .ci/run installs for the native addons, runs a plain `npm ci` (allowScripts keeps
 * onnxruntime-node's CUDA download off), builds and prunes the dev dependencies; the runtime stage
 * installs the runtime half of each of those packages and no compiler, holds what `centaur run`
 * reads, runs as uid 10001, checks /readyz, and starts `node bin/centaur.cjs run
 * /etc/centaur/topology.yaml` listening on every interface. Where the native addons are built
 * here, every shared library they link outside the Node image's own must come from a package
 * the runtime stage installs (ldd and dpkg; skipped elsewhere).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { aptPackages, copies, dockerignore, envOf, execForm, instructions, readDockerfile } from '../helpers/dockerfile.js';
import type { Stage } from '../helpers/dockerfile.js';

const stages = readDockerfile();
const build = stages[0] as Stage;
const runtime = stages.at(-1) as Stage;
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  version: string;
  scripts: Record<string, string>;
  optionalDependencies: Record<string, string>;
  allowScripts: Record<string, boolean>;
};
const ensureNode = readFileSync('scripts/node/ensure-node.sh', 'utf8');
const ci = readFileSync('.ci/run', 'utf8');

/**
 * Debian bookworm's runtime package for each -dev package the native addons build against: what
 * `apt-cache show <dev>` lists under Depends (librdkafka-dev: the C and the C++ library, both
 * linked by node-rdkafka). A new -dev package in .ci/run needs its line here.
 */
const RUNTIME_OF: Readonly<Record<string, readonly string[]>> = {
  'librdkafka-dev': ['librdkafka1', 'librdkafka++1'],
  'libssl-dev': ['libssl3'],
  'zlib1g-dev': ['zlib1g'],
  'libsasl2-dev': ['libsasl2-2'],
  'liblz4-dev': ['liblz4-1'],
  'libzstd-dev': ['libzstd1'],
  'libturbojpeg0-dev': ['libturbojpeg0'],
};
/** Packages every Node image has: Node itself links them. */
const IN_NODE_IMAGE = new Set(['libc6', 'libstdc++6', 'libgcc-s1']);

/** The packages .ci/run checks with `dpkg -s` and installs. */
function ciPackages(): string[] {
  const match = /for pkg in ([^;]+); do\s+dpkg -s/.exec(ci);
  assert.ok(match, '.ci/run lists its Debian packages in `for pkg in …; do dpkg -s`');
  return (match[1] ?? '').trim().split(/\s+/);
}

function runText(stage: Stage): string {
  return instructions(stage, 'RUN')
    .map((r) => r.args)
    .join('\n');
}

test('two stages, build and runtime, on the same Node image pinned to the version CI runs', () => {
  assert.ok(stages.length >= 2, 'a multi-stage build');
  const nodeVersion = /NODE_VERSION="\$\{CENTAUR_NODE_VERSION:-([\d.]+)\}"/.exec(ensureNode)?.[1];
  assert.ok(nodeVersion, 'scripts/node/ensure-node.sh names its Node version');
  for (const stage of stages) {
    assert.match(stage.image, /^[\w./-]+:[\w.-]+$/, `${stage.image}: a tag, no variable`);
    assert.doesNotMatch(stage.image, /:latest$/, `${stage.image}: not latest`);
    assert.equal(stage.image, `node:${nodeVersion}-bookworm-slim`, 'the official Node image, the release ensure-node.sh installs, Debian 12 as CI');
  }
  assert.equal(build.name, 'build');
  assert.equal(runtime.name, 'runtime');
});

test('build stage: a plain npm ci with the npm CI uses, the build, then the dev dependencies pruned', () => {
  const run = runText(build);
  const npmVersion = /NPM_VERSION="\$\{CENTAUR_NPM_VERSION:-([\d.]+)\}"/.exec(ensureNode)?.[1];
  assert.ok(npmVersion);
  assert.ok(run.includes(`npm install -g npm@${npmVersion}`), 'the npm of ensure-node.sh (11.16+ honours allowScripts)');
  const ciAt = run.search(/\bnpm ci\b/);
  const pruneAt = run.search(/\bnpm prune --omit=dev\b/);
  assert.ok(ciAt >= 0, 'npm ci');
  assert.ok(pruneAt > ciAt, 'npm prune --omit=dev after npm ci');
  assert.doesNotMatch(run, /npm ci[^\n&]*--ignore-scripts/, 'scripts run: the native addons build, prepare builds dist/');
  // The build: explicit, or through `prepare`, which npm ci runs.
  assert.ok(/\bnpm run build\b/.test(run) || /\bnpm run build\b/.test(pkg.scripts.prepare ?? ''), 'npm run build, directly or by prepare');
  assert.match(run, /test -f dist\/cli\/centaur\.js/, 'the image fails where the build did not happen');
  for (const addon of ['node-rdkafka', '@confluentinc/kafka-javascript', 'centaur-jpeg-scaled', 'onnxruntime-node', 'sharp']) {
    assert.ok(run.lastIndexOf(`require('${addon}')`) > pruneAt, `the build fails where ${addon} does not load once pruned and trimmed`);
  }
  // Another platform's onnxruntime is dead weight (darwin, win32, the other Linux arch: about 220 MB).
  assert.match(run, /find node_modules\/onnxruntime-node\/bin\/napi-v6 [^&]*! -path "\*\/linux\/\$\(node -p process\.arch\)" -exec rm -rf/);
  assert.equal(envOf(build).get('BUILD_LIBRDKAFKA'), '0', "node-rdkafka links Debian's librdkafka, as in CI");
});

test("onnxruntime is the CPU build: its install script stays denied, nothing opts into CUDA", () => {
  assert.equal(pkg.allowScripts['onnxruntime-node'], false);
  const text = stages.flatMap((s) => s.instructions.map((i) => `${i.keyword} ${i.args}`)).join('\n');
  assert.doesNotMatch(text, /ONNXRUNTIME_NODE_INSTALL|npm rebuild onnxruntime-node|allow-scripts|--foreground-scripts/);
  assert.doesNotMatch(text, /nvidia|cuda/i);
});

test(".ci/run's -dev packages are in the build stage and their runtime libraries in the runtime stage", () => {
  const dev = ciPackages().filter((p) => p.endsWith('-dev'));
  assert.ok(dev.length >= 7, `.ci/run's -dev packages: ${dev.join(' ')}`);
  const built = aptPackages(build);
  const installed = aptPackages(runtime);
  for (const name of dev) {
    assert.ok(built.includes(name), `the build stage installs ${name}`);
    const libraries = RUNTIME_OF[name];
    assert.ok(libraries, `${name}: add its runtime package to RUNTIME_OF (apt-cache show ${name} | grep Depends)`);
    for (const library of libraries) assert.ok(installed.includes(library), `the runtime stage installs ${library} (for ${name})`);
  }
  for (const tool of ['build-essential', 'python3']) assert.ok(built.includes(tool), `node-gyp needs ${tool}`);
  assert.deepEqual(
    installed.filter((p) => p.endsWith('-dev') || ['build-essential', 'python3', 'gcc', 'g++', 'make'].includes(p)),
    [],
    'no headers or compilers at run time',
  );
  assert.match(runText(runtime), /rm -rf \/var\/lib\/apt\/lists/, 'apt lists removed in the same layer');
});

test("the runtime package names are Debian bookworm's: apt-cache agrees, where this is bookworm", (t) => {
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  if (!/VERSION_CODENAME=bookworm/.test(osRelease)) return t.skip('not Debian bookworm');
  const show = spawnSync('apt-cache', ['show', '--no-all-versions', ...Object.keys(RUNTIME_OF)], { encoding: 'utf8' });
  if (show.status !== 0) return t.skip(`apt-cache does not know them all (run apt-get update): ${show.stderr.trim()}`);
  const records = new Map(
    show.stdout.split(/\n\n+/).map((record) => [/^Package: (\S+)$/m.exec(record)?.[1], /^Depends: (.*)$/m.exec(record)?.[1] ?? ''] as const),
  );
  for (const [dev, libraries] of Object.entries(RUNTIME_OF)) {
    const depends = records.get(dev);
    if (depends === undefined) return t.skip(`apt-cache knows no ${dev} (run apt-get update)`);
    const names = depends.split(',').map((d) => d.trim().split(/[\s(|]/)[0]);
    for (const library of libraries) assert.ok(names.includes(library), `${dev} depends on ${library} (Depends: ${depends})`);
  }
});

test('every shared library the built native addons link is in the Node image or installed by the runtime stage', (t) => {
  const ldd = spawnSync('ldd', ['--version'], { encoding: 'utf8' });
  const dpkg = spawnSync('dpkg', ['--version'], { encoding: 'utf8' });
  if (ldd.status !== 0 || dpkg.status !== 0) return t.skip('needs ldd and dpkg');
  const found = spawnSync('find', ['node_modules', 'native', '-name', '*.node', '-type', 'f', '-not', '-path', '*/obj.target/*'], { encoding: 'utf8' });
  const addons = found.stdout.split('\n').filter((f) => f !== '');
  if (addons.length === 0) return t.skip('no native addons built (npm ci first)');
  const installed = new Set([...aptPackages(runtime), ...IN_NODE_IMAGE]);
  const links: { addon: string; soname: string; resolved: string }[] = [];
  for (const addon of addons) {
    const result = spawnSync('ldd', [addon], { encoding: 'utf8' });
    if (result.status !== 0) continue; // another platform's binary (onnxruntime ships darwin, win32, arm64)
    for (const line of result.stdout.split('\n')) {
      const match = /^\s*(\S+) => (\S+)/.exec(line);
      if (match === null) continue;
      const [, soname, resolved] = match as unknown as [string, string, string];
      assert.notEqual(resolved, 'not', `${addon}: ${soname} not found`);
      // Libraries shipped inside the package (onnxruntime, libvips, the Confluent client's librdkafka) travel with node_modules.
      if (resolved.startsWith('/lib') || resolved.startsWith('/usr/lib')) links.push({ addon, soname, resolved });
    }
  }
  assert.ok(links.length > 0);
  // With merged /usr, dpkg knows a file under one of /lib and /usr/lib: ask for both, once.
  const paths = [...new Set(links.flatMap(({ resolved }) => [resolved, resolved.startsWith('/usr/') ? resolved.slice(4) : `/usr${resolved}`]))];
  const owners = new Map<string, string>();
  for (const line of spawnSync('dpkg', ['-S', ...paths], { encoding: 'utf8' }).stdout.split('\n')) {
    const match = /^([^:\s]+)(?::[^:\s]+)?: (\S+)$/.exec(line);
    if (match !== null) owners.set(match[2] ?? '', match[1] ?? '');
  }
  for (const { addon, soname, resolved } of links) {
    const owner = owners.get(resolved) ?? owners.get(resolved.startsWith('/usr/') ? resolved.slice(4) : `/usr${resolved}`);
    assert.ok(owner, `${resolved} (linked by ${addon}) belongs to no Debian package`);
    assert.ok(installed.has(owner), `${addon} links ${soname} from ${owner}, which the runtime stage does not install`);
  }
});

test('runs as uid 10001, not root, with the app read-only to it', () => {
  const users = instructions(runtime, 'USER').map((u) => u.args);
  assert.equal(users.at(-1), '10001:10001');
  assert.match(runText(runtime), /useradd --uid 10001 --gid 10001/);
  const lastUser = runtime.instructions.findLastIndex((i) => i.keyword === 'USER');
  const lastWrite = runtime.instructions.findLastIndex((i) => i.keyword === 'COPY' || i.keyword === 'RUN');
  assert.ok(lastUser > lastWrite, 'USER after every COPY and RUN: the files stay root-owned');
  assert.ok(copies(runtime).every((c) => !/--chown/.test(c.sources.join(' '))));
});

test('ENTRYPOINT is the centaur command; CMD runs /etc/centaur/topology.yaml with HTTP on every interface', () => {
  const entrypoint = execForm(instructions(runtime, 'ENTRYPOINT').at(-1)?.args ?? '');
  assert.deepEqual(entrypoint, ['node', 'bin/centaur.cjs']);
  assert.equal(pkg.scripts.start?.split(' ').slice(0, 2).join(' '), 'node bin/centaur.cjs', 'the same entry point as npm start');
  const cmd = execForm(instructions(runtime, 'CMD').at(-1)?.args ?? '');
  assert.ok(cmd, 'CMD in exec form');
  assert.deepEqual(cmd.slice(0, 2), ['run', '/etc/centaur/topology.yaml']);
  const http = cmd[cmd.indexOf('--http') + 1];
  assert.equal(http, '0.0.0.0:9464', "the topology's http default is loopback, unreachable from outside a container");
  assert.deepEqual(instructions(runtime, 'EXPOSE').map((e) => e.args), ['9464']);
  assert.equal(instructions(runtime, 'WORKDIR').at(-1)?.args, '/app');
});

test('HEALTHCHECK asks /readyz on the port CMD listens on, with node (no curl in the image)', () => {
  const check = instructions(runtime, 'HEALTHCHECK');
  assert.equal(check.length, 1);
  const args = check[0]?.args ?? '';
  const command = execForm(args.slice(args.indexOf('CMD ') + 4));
  assert.ok(command, 'HEALTHCHECK CMD in exec form');
  assert.equal(command[0], 'node');
  const script = command.join(' ');
  const url = script.includes('process.env.CENTAUR_HEALTHCHECK_URL') ? envOf(runtime).get('CENTAUR_HEALTHCHECK_URL') : /https?:\/\/[^'"\s]+/.exec(script)?.[0];
  assert.equal(url, 'http://127.0.0.1:9464/readyz');
  assert.match(script, /process\.exit\(r\.ok \? 0 : 1\)/, 'non-2xx (503: not ready) is unhealthy');
  assert.match(args, /--start-period=\d+s/);
});

test('the runtime stage holds what centaur reads at run time', () => {
  const copied = copies(runtime);
  const destinations = copied.map((c) => c.destination.replace(/\/$/, ''));
  for (const wanted of ['node_modules', 'dist', 'bin', 'models/demo', 'topologies', 'schemas', 'native/jpeg-scaled', 'src/inference/kserve', '.']) {
    assert.ok(destinations.includes(wanted), `COPY … ${wanted}`);
  }
  // node_modules/centaur-jpeg-scaled is a link to the folder package.json names.
  assert.equal(pkg.optionalDependencies['centaur-jpeg-scaled'], 'file:native/jpeg-scaled');
  // dist/ looks for the KServe .proto in src/ (tsc does not copy it).
  assert.ok(existsSync('src/inference/kserve/grpc_service.proto'));
  assert.ok(copied.some((c) => c.sources.includes('/app/src/inference/kserve/grpc_service.proto')));
  for (const copy of copied.filter((c) => c.from !== undefined)) assert.equal(copy.from, 'build');
  assert.equal(envOf(runtime).get('NODE_ENV'), 'production');
});

test('.dockerignore: the context has every path the Dockerfile copies and none of node_modules, .git, outputs or caches', () => {
  const ignore = dockerignore(readFileSync('.dockerignore', 'utf8'));
  for (const p of ['node_modules/yaml/package.json', 'native/jpeg-scaled/node_modules/x', '.git/HEAD', 'dist/cli/centaur.js', 'out/demo/x.jsonl', 'test-artifacts/x.png', '.cache/x', 'native/jpeg-scaled/build/Release/jpeg_scaled.node', 'test/deploy/dockerfile.test.ts', 'data/three/x.jpg', 'models/demo-tfjs/model.json', 'docs/DEVELOPING.md', 'Dockerfile']) {
    assert.ok(ignore.isIgnored(p), `${p} stays out of the build context`);
  }
  const sources = stages.flatMap((s) => copies(s).filter((c) => c.from === undefined).flatMap((c) => c.sources));
  assert.ok(sources.length > 0);
  for (const source of sources) {
    const relative = source.replace(/\/$/, '');
    assert.ok(existsSync(relative), `${source} exists`);
    const files = statSync(relative).isDirectory() ? walk(relative) : [relative];
    assert.ok(files.length > 0, `${source} has files`);
    for (const file of files) assert.ok(!ignore.isIgnored(file), `${file} (COPY ${source}) is in the build context`);
  }
});

/** Files under a folder, skipping installed packages and compiled output. */
function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return ['node_modules', 'build'].includes(entry.name) ? [] : walk(full);
    return entry.isFile() ? [full] : [];
  });
}
