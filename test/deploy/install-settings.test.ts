/**
 * A bare `npm ci` must work on a machine that reaches only the package registries: onnxruntime-node's
 * install script, which downloads CUDA libraries from elsewhere, must not download anything: npm
 * 11.16 and later honour `allowScripts` in package.json (npm 12 runs only the scripts it allows).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The environment without the install settings a user would not have set. */
function bareEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (/^(ONNXRUNTIME_NODE_INSTALL|npm_config_onnxruntime)/i.test(name)) delete env[name];
  return env;
}

test('package.json denies onnxruntime-node its install script, and approves the ones the build needs', async () => {
  const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { allowScripts?: Record<string, boolean> };
  assert.equal(pkg.allowScripts?.['onnxruntime-node'], false);
  for (const name of ['node-rdkafka', 'esbuild']) assert.equal(pkg.allowScripts?.[name], true, name);
});

test('the project asks for an npm that honours allowScripts and keeps no config key npm does not know', async () => {
  const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { engines?: Record<string, string> };
  assert.equal(pkg.engines?.npm, '>=11.16');
  assert.equal(pkg.engines?.node, '>=22');
  // npm warns about unknown keys in a project .npmrc, and says they will stop working.
  const npmrc = await readFile('.npmrc', 'utf8').catch(() => '');
  assert.doesNotMatch(npmrc, /onnxruntime/);
});

test('rebuilding onnxruntime-node with the project settings downloads nothing and succeeds offline', async () => {
  const { stdout, stderr } = await run('npm', ['rebuild', 'onnxruntime-node', '--foreground-scripts'], { env: bareEnv(), timeout: 60_000 });
  assert.doesNotMatch(stdout + stderr, /nuget|Downloading|getaddrinfo/i);
  // The CPU binding is the one inside the package, and it loads.
  const { stdout: backends } = await run(process.execPath, ['-e', "console.log(typeof require('onnxruntime-node').InferenceSession.create)"]);
  assert.equal(backends.trim(), 'function');
});
