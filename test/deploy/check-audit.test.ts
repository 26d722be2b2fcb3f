/**
 * scripts/audit/check-audit.ts: an `npm audit --json` report (a small hand-written one in the shape
 * npm 7+ prints) read into one finding per advisory; the "Accepted findings" table of
 * docs/SECURITY.md read into advisory ids; and the gate that fails on high or critical advisories
 * the table does not list, run as a command on saved reports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { checkFindings, describeUnlisted, listedAdvisoryIds, parseAuditJson, severityCounts } from '../../scripts/audit/check-audit.js';
import type { Finding } from '../../scripts/audit/check-audit.js';

const run = promisify(execFile);

/** Three advisories on two packages, a dependent that only names one of them, one advisory reached two ways. */
const REPORT = {
  auditReportVersion: 2,
  vulnerabilities: {
    'fast-xml-parser': {
      name: 'fast-xml-parser',
      severity: 'high',
      isDirect: false,
      via: [
        { source: 1111111, name: 'fast-xml-parser', dependency: 'fast-xml-parser', title: 'Entity expansion', url: 'https://github.com/advisories/GHSA-aaaa-bbbb-cccc', severity: 'high', range: '<5.10.1' },
        { source: 2222222, name: 'fast-xml-parser', dependency: 'fast-xml-parser', title: 'Comment injection', url: 'https://github.com/advisories/GHSA-dddd-eeee-ffff', severity: 'moderate', range: '<5.7.0' },
      ],
      effects: ['@azure/core-xml'],
      range: '<5.10.1',
      nodes: ['node_modules/fast-xml-parser'],
      fixAvailable: true,
    },
    '@azure/core-xml': {
      name: '@azure/core-xml',
      severity: 'high',
      isDirect: false,
      via: ['fast-xml-parser'],
      effects: [],
      range: '1.0.0 - 1.5.0',
      nodes: ['node_modules/@azure/core-xml'],
      fixAvailable: true,
    },
    tar: {
      name: 'tar',
      severity: 'critical',
      isDirect: false,
      via: [{ source: 3333333, name: 'tar', dependency: 'tar', title: 'Decompression DoS', url: 'https://github.com/advisories/GHSA-gggg-hhhh-jjjj', severity: 'critical', range: '<=7.5.18' }],
      effects: [],
      range: '<=7.5.18',
      nodes: ['node_modules/tar'],
      fixAvailable: { name: 'onnxruntime-node', version: '2.0.0', isSemVerMajor: true },
    },
    'tar-nested': {
      name: 'tar',
      severity: 'critical',
      isDirect: false,
      via: [{ source: 3333333, name: 'tar', dependency: 'tar', title: 'Decompression DoS', url: 'https://github.com/advisories/GHSA-gggg-hhhh-jjjj', severity: 'critical', range: '<=7.5.18' }],
      effects: [],
      range: '<=7.5.18',
      nodes: ['node_modules/x/node_modules/tar'],
      fixAvailable: false,
    },
    legacy: {
      name: 'legacy',
      severity: 'high',
      isDirect: true,
      via: [{ source: 4444444, name: 'legacy', dependency: 'legacy', title: 'An advisory without a GHSA', url: 'https://www.npmjs.com/advisories/4444444', severity: 'high', range: '*' }],
      effects: [],
      range: '*',
      nodes: ['node_modules/legacy'],
      fixAvailable: false,
    },
  },
  metadata: { vulnerabilities: { info: 0, low: 0, moderate: 0, high: 3, critical: 2, total: 5 } },
};

/** What npm printed here when the registry refused the advisory endpoint. */
const ENDPOINT_REFUSED = {
  message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
  method: 'POST',
  statusCode: 405,
  body: '',
  error: { summary: '', detail: '' },
};

function doc(rows: readonly string[]): string {
  return [
    '# Security',
    '',
    '## Dependencies and `npm audit`',
    '',
    '### Accepted findings',
    '',
    '| package | severity | advisory | path | why it does not reach Centaur | fix |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    '### Checked by hand',
    '',
    '| package | advisory | fixed in |',
    '|---|---|---|',
    '| tar | GHSA-gggg-hhhh-jjjj | 7.5.19 |',
    '',
  ].join('\n');
}

function findings(): readonly Finding[] {
  const parsed = parseAuditJson(JSON.stringify(REPORT));
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
  return parsed.findings;
}

test('a report becomes one finding per advisory, merged across the entries that name it, highest severity first', () => {
  const all = findings();
  assert.deepEqual(all.map((f) => f.id), ['GHSA-gggg-hhhh-jjjj', 'GHSA-aaaa-bbbb-cccc', 'npm:4444444', 'GHSA-dddd-eeee-ffff']);
  const tar = all[0] as Finding;
  assert.equal(tar.severity, 'critical');
  assert.equal(tar.source, 3333333);
  assert.deepEqual(tar.paths, ['node_modules/tar', 'node_modules/x/node_modules/tar']);
  assert.match(tar.fix, /onnxruntime-node@2\.0\.0 \(semver-major/);
  const xml = all[1] as Finding;
  assert.equal(xml.name, 'fast-xml-parser');
  assert.equal(xml.range, '<5.10.1');
  assert.match(xml.fix, /npm audit fix/);
  // The dependent (@azure/core-xml) names a package, not an advisory: no finding of its own.
  assert.ok(all.every((f) => f.name !== '@azure/core-xml'));
  assert.equal(all[2]?.ghsa, undefined);
  assert.match(all[2]?.fix ?? '', /no fix/);
  assert.equal(severityCounts(all), 'critical 1, high 2, moderate 1, low 0');
});

test('what npm prints when the advisory endpoint fails, or anything else, is no report', () => {
  const refused = parseAuditJson(JSON.stringify(ENDPOINT_REFUSED));
  assert.equal(refused.ok, false);
  assert.match(refused.ok ? '' : refused.reason, /405 Method Not Allowed/);
  for (const text of ['', 'npm error audit endpoint returned an error', '[]', '{"auditReportVersion":2}']) {
    assert.equal(parseAuditJson(text).ok, false, JSON.stringify(text));
  }
  const clean = parseAuditJson(JSON.stringify({ auditReportVersion: 2, vulnerabilities: {}, metadata: {} }));
  assert.deepEqual(clean, { ok: true, findings: [] });
});

test('only the advisory column of the "Accepted findings" table accepts anything', () => {
  const listed = listedAdvisoryIds(doc(['| fast-xml-parser | high | [GHSA-AAAA-bbbb-cccc](https://github.com/advisories/GHSA-aaaa-bbbb-cccc) | node_modules/fast-xml-parser | npm:9999999 in prose does not count | none |', '| legacy | high | npm:4444444 | node_modules/legacy | not loaded | none |']));
  assert.ok(listed.ok);
  assert.deepEqual([...listed.ids].sort(), ['ghsa-aaaa-bbbb-cccc', 'npm:4444444']);
  const empty = listedAdvisoryIds(doc([]));
  assert.ok(empty.ok);
  assert.equal(empty.ids.size, 0);
  assert.equal(listedAdvisoryIds('# Security\n\nNo table here.\n').ok, false);
  assert.equal(listedAdvisoryIds('### Accepted findings\n\n| package | why |\n|---|---|\n| a | b |\n').ok, false);
});

test('high and critical advisories outside the table fail the check; listed, lower and stale ones do not', () => {
  const all = findings();
  const none = checkFindings(all, new Set());
  assert.deepEqual(none.unlisted.map((f) => f.id), ['GHSA-gggg-hhhh-jjjj', 'GHSA-aaaa-bbbb-cccc', 'npm:4444444']);
  const some = checkFindings(all, new Set(['ghsa-gggg-hhhh-jjjj', 'npm:4444444', 'ghsa-zzzz-zzzz-zzzz']));
  assert.deepEqual(some.unlisted.map((f) => f.id), ['GHSA-aaaa-bbbb-cccc']);
  assert.deepEqual(some.accepted.map((f) => f.id), ['GHSA-gggg-hhhh-jjjj', 'npm:4444444']);
  assert.deepEqual(some.stale, ['ghsa-zzzz-zzzz-zzzz']);
  // An advisory listed by its npm number is accepted too.
  assert.deepEqual(checkFindings(all, new Set(['npm:1111111', 'npm:3333333', 'npm:4444444'])).unlisted, []);
  assert.deepEqual(checkFindings(all, new Set(), 'critical').unlisted.map((f) => f.id), ['GHSA-gggg-hhhh-jjjj']);
  const line = describeUnlisted(some.unlisted[0] as Finding);
  assert.match(line, /^GHSA-aaaa-bbbb-cccc high: fast-xml-parser <5\.10\.1 at node_modules\/fast-xml-parser — Entity expansion; not in docs\/SECURITY\.md/);
  assert.ok(!line.includes('\n'));
});

test("docs/SECURITY.md has the table the check reads", async () => {
  const listed = listedAdvisoryIds(await readFile('docs/SECURITY.md', 'utf8'));
  assert.ok(listed.ok, listed.ok ? '' : listed.reason);
});

test('the command exits 1 naming unlisted advisories, 0 once they are listed, 2 without a report', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'check-audit-'));
  try {
    const report = path.join(dir, 'audit.json');
    const refused = path.join(dir, 'refused.json');
    const open = path.join(dir, 'open.md');
    const accepted = path.join(dir, 'accepted.md');
    await writeFile(report, JSON.stringify(REPORT));
    await writeFile(refused, JSON.stringify(ENDPOINT_REFUSED));
    await writeFile(open, doc([]));
    await writeFile(accepted, doc(['| tar | critical | GHSA-gggg-hhhh-jjjj | node_modules/tar | install only | none |', '| fast-xml-parser | high | GHSA-aaaa-bbbb-cccc | | not reached | |', '| legacy | high | npm:4444444 | | not loaded | |']));
    const cli = (...args: string[]): Promise<{ code: number; out: string }> =>
      run(process.execPath, ['--import', 'tsx', 'scripts/audit/check-audit.ts', ...args]).then(
        ({ stdout, stderr }) => ({ code: 0, out: stdout + stderr }),
        (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, out: error.stdout + error.stderr }),
      );
    const failing = await cli('--input', report, '--doc', open);
    assert.equal(failing.code, 1, failing.out);
    assert.match(failing.out, /3 advisories at high or above not in docs\/SECURITY\.md/);
    assert.match(failing.out, /^ {2}GHSA-gggg-hhhh-jjjj critical: tar/m);
    const passing = await cli('--input', report, '--doc', accepted);
    assert.equal(passing.code, 0, passing.out);
    assert.match(passing.out, /accepted in docs\/SECURITY\.md: GHSA-gggg-hhhh-jjjj/);
    const noReport = await cli('--input', refused, '--doc', accepted);
    assert.equal(noReport.code, 2, noReport.out);
    assert.match(noReport.out, /405 Method Not Allowed[\s\S]*--input/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
