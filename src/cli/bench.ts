/**
 * `centaur bench <scenario>`: the benchmark harness users tune with. Each scenario reports, in the
 * same run, the outside reference it is judged against; figures are medians of several runs with
 * their spread, printed as a table and written as JSON and Markdown on request. Scenarios so far:
 * `decode` (per-core decode against Pillow's draft mode) and `files` (a folder through the demo
 * pipeline against the ceiling of the best decode and inference alone).
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeMarkdown, decodeText } from '../bench/decode-report.js';
import { runDecodeBench } from '../bench/decode-scenario.js';
import { filesMarkdown, filesText } from '../bench/files-report.js';
import { runFilesBench } from '../bench/files-scenario.js';
import { PACKAGE_ROOT } from '../core/package-info.js';
import { createLogger } from '../core/logger.js';

/** The options as commander hands them over. */
export interface BenchFlags {
  readonly images: string;
  readonly runs: string;
  readonly size: string;
  readonly python?: string;
  readonly json?: string;
  readonly markdown?: string;
  readonly cache: string;
  readonly decoder: string;
  readonly batch: string;
  readonly inferThreads: string;
  readonly decodeConcurrency: string;
  readonly model?: string;
}

interface BenchIo {
  out(text: string): void;
  err(text: string): void;
}

/** The Python of bench/setup-python.sh, when it was run. */
const SETUP_PYTHON = '.cache/bench/venv/bin/python';

/** Runs a scenario; exit 0 measured, 2 bad options. */
export async function benchCommand(scenario: string, flags: BenchFlags, io: BenchIo): Promise<number> {
  if (scenario !== 'decode' && scenario !== 'files') {
    io.err(`centaur bench: unknown scenario \`${scenario}\`; scenarios: decode, files`);
    return 2;
  }
  if (flags.decoder !== 'sharp' && flags.decoder !== 'jpeg-turbo') {
    io.err('centaur bench: --decoder must be sharp or jpeg-turbo');
    return 2;
  }
  const images = Number(flags.images);
  const runs = Number(flags.runs);
  const size = Number(flags.size);
  const batch = Number(flags.batch);
  const inferThreads = Number(flags.inferThreads);
  const decodeConcurrency = Number(flags.decodeConcurrency);
  const counts = [['--images', images, 2], ['--runs', runs, 1], ['--size', size, 8], ['--batch', batch, 1], ['--infer-threads', inferThreads, 1], ['--decode-concurrency', decodeConcurrency, 1]] as const;
  for (const [name, value, min] of counts) {
    if (!Number.isInteger(value) || value < min) {
      io.err(`centaur bench: ${name} must be an integer ≥ ${min}`);
      return 2;
    }
  }
  const python = flags.python ?? (await access(SETUP_PYTHON).then(() => SETUP_PYTHON, () => undefined));
  let last = -1;
  const common = {
    images,
    runs,
    cacheDir: flags.cache,
    logger: createLogger('warn'),
    ...(python === undefined ? {} : { python }),
    onProgress: (done: number, total: number) => {
      const percent = Math.floor((done / total) * 100);
      if (percent !== last) io.err(`bench ${scenario}: ${percent}%`);
      last = percent;
    },
  };
  let report: { json: unknown; text: string; markdown: string };
  if (scenario === 'decode') {
    const result = await runDecodeBench({ ...common, size });
    report = { json: result, text: decodeText(result), markdown: decodeMarkdown(result) };
  } else {
    const modelDir = path.resolve(flags.model ?? path.join(PACKAGE_ROOT, 'models', 'demo'));
    const result = await runFilesBench({ ...common, decoder: flags.decoder, batch, inferThreads, decodeConcurrency, modelDir });
    report = { json: result, text: filesText(result), markdown: filesMarkdown(result) };
  }
  io.out(report.text.trimEnd());
  for (const [file, text] of [
    [flags.json, `${JSON.stringify(report.json, null, 2)}\n`],
    [flags.markdown, report.markdown],
  ] as const) {
    if (file === undefined) continue;
    await mkdir(path.dirname(path.resolve(file)), { recursive: true });
    await writeFile(file, text);
  }
  return 0;
}
