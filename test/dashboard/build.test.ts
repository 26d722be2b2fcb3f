/** The dashboard bundle: built by scripts/build-dashboard.ts, self-contained and within its size budget. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildDashboard, GZIP_BUDGET_BYTES } from '../../scripts/build-dashboard.js';

test('dashboard build: index.html, app.js and app.css, with app.js under its gzip budget', async () => {
  const outDir = await mkdtemp(path.join(tmpdir(), 'centaur-dashboard-'));
  try {
    const result = await buildDashboard(outDir);
    assert.deepEqual((await readdir(outDir)).sort(), ['app.css', 'app.js', 'index.html']);
    assert.ok(result.jsGzipBytes > 0);
    assert.ok(result.jsGzipBytes < GZIP_BUDGET_BYTES, `app.js is ${result.jsGzipBytes} bytes gzipped, over the ${GZIP_BUDGET_BYTES} budget`);
    assert.equal(GZIP_BUDGET_BYTES, 200 * 1024);

    const html = await readFile(path.join(outDir, 'index.html'), 'utf8');
    assert.match(html, /<script defer src="app\.js"><\/script>/);
    assert.match(html, /<link rel="stylesheet" href="app\.css">/);
    const css = await readFile(path.join(outDir, 'app.css'), 'utf8');
    assert.match(css, /\.uplot\{/, "uPlot's styles are bundled");
    const js = await readFile(path.join(outDir, 'app.js'), 'utf8');
    assert.ok(!js.includes('\n//# sourceMappingURL'), 'no source map reference');

    // Works offline: nothing is loaded from another host (the SVG namespace is a name, not a request).
    for (const [name, text] of [['index.html', html], ['app.css', css], ['app.js', js]] as const) {
      const urls = (text.match(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s"'()]*/gi) ?? []).filter((u) => !u.startsWith('http://www.w3.org/'));
      assert.deepEqual(urls, [], `${name} refers to another host`);
    }
    assert.doesNotMatch(css, /@font-face|@import/, 'no web fonts or unresolved imports');
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
});
