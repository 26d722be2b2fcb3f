/**
 * `centaur bench <scenario>`: the benchmark harness users tune with. Each scenario reports, in the
 * same run, the outside reference it is judged against; figures are medians of several runs with
 * their spread, printed as a table and written as JSON and Markdown on request. Scenarios so far:
 * `decode` (per-core decode against Pillow's draft mode).
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeMarkdown, decodeText } from '../bench/decode-report.js';
import { runDecodeBench } from '../bench/decode-scenario.js';
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
}

interface BenchIo {
  out(text: string): void;
  err(text: string): void;
}

/** The Python of bench/setup-python.sh, when it was run. */
const SETUP_PYTHON = '.cache/bench/venv/bin/python';

/** Runs a scenario; exit 0 measured, 2 bad options. */
export async function benchCommand(scenario: string, flags: BenchFlags, io: BenchIo): Promise<number> {
  if (scenario !== 'decode') {
    io.err(`centaur bench: unknown scenario \`${scenario}\`; scenarios: decode`);
    return 2;
  }
  const images = Number(flags.images);
  const runs = Number(flags.runs);
  const size = Number(flags.size);
  for (const [name, value, min] of [['--images', images, 2], ['--runs', runs, 1], ['--size', size, 8]] as const) {
    if (!Number.isInteger(value) || value < min) {
      io.err(`centaur bench: ${name} must be an integer ≥ ${min}`);
      return 2;
    }
  }
  const python = flags.python ?? (await access(SETUP_PYTHON).then(() => SETUP_PYTHON, () => undefined));
  let last = -1;
  const result = await runDecodeBench({
    images,
    runs,
    size,
    cacheDir: flags.cache,
    logger: createLogger('warn'),
    ...(python === undefined ? {} : { python }),
    onProgress: (done, total) => {
      const percent = Math.floor((done / total) * 100);
      if (percent !== last) io.err(`bench decode: ${percent}%`);
      last = percent;
    },
  });
  io.out(decodeText(result).trimEnd());
  for (const [file, text] of [
    [flags.json, `${JSON.stringify(result, null, 2)}\n`],
    [flags.markdown, decodeMarkdown(result)],
  ] as const) {
    if (file === undefined) continue;
    await mkdir(path.dirname(path.resolve(file)), { recursive: true });
    await writeFile(file, text);
  }
  return 0;
}
