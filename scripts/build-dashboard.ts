/**
 * Builds the operational dashboard into dist/dashboard/ (index.html, app.js minified, app.css with
 * uPlot's styles) with esbuild: every asset bundled, nothing fetched from the network at run time.
 * Prints the gzip size of app.js and fails when it reaches the budget. Usage: npm run build:dashboard
 */
import { build } from 'esbuild';
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = path.join(ROOT, 'src/dashboard');

/** The most app.js may weigh gzipped: the page must stay quick to load over a slow link. */
export const GZIP_BUDGET_BYTES = 200 * 1024;

export interface DashboardBuild {
  readonly outDir: string;
  readonly files: readonly string[];
  readonly jsBytes: number;
  readonly jsGzipBytes: number;
}

/** Bundles the dashboard into `outDir` (emptied first) and measures app.js. */
export async function buildDashboard(outDir = path.join(ROOT, 'dist/dashboard')): Promise<DashboardBuild> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: [
      { in: path.join(SOURCE, 'app.ts'), out: 'app' },
      { in: path.join(SOURCE, 'app.css'), out: 'app' },
    ],
    outdir: outDir,
    bundle: true,
    minify: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    tsconfig: path.join(SOURCE, 'tsconfig.json'),
    logLevel: 'warning',
  });
  await copyFile(path.join(SOURCE, 'index.html'), path.join(outDir, 'index.html'));
  const js = await readFile(path.join(outDir, 'app.js'));
  return { outDir, files: ['index.html', 'app.js', 'app.css'], jsBytes: js.length, jsGzipBytes: gzipSync(js, { level: 9 }).length };
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await buildDashboard();
  const kb = (n: number): string => `${(n / 1024).toFixed(1)} KB`;
  process.stdout.write(`dashboard: ${path.relative(ROOT, result.outDir)}/{${result.files.join(',')}}; app.js ${kb(result.jsBytes)}, ${kb(result.jsGzipBytes)} gzip (budget ${kb(GZIP_BUDGET_BYTES)})\n`);
  if (result.jsGzipBytes >= GZIP_BUDGET_BYTES) {
    process.stderr.write('dashboard: app.js is over its gzip budget\n');
    process.exitCode = 1;
  }
}
