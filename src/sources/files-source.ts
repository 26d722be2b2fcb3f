/**
 * `files-source`: images from a directory (recursive, sorted) or a glob, optionally watching for
 * new files, with labels from the parent folder name and a checkpoint file of finished files.
 */
import { appendFile, mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Type } from '@sinclair/typebox';
import { defineSource } from '../core/component.js';
import type { Source, SourceContext } from '../core/component.js';
import type { EnvelopeInit } from '../core/envelope.js';
import { CentaurError } from '../core/errors.js';
import { PauseGate } from '../core/pause-gate.js';

const DEFAULT_EXTENSIONS = ['jpg', 'jpeg', 'png', 'webp', 'gif', 'tif', 'tiff', 'avif'];

const options = Type.Object(
  {
    path: Type.String({ minLength: 1, description: 'A directory (read recursively) or a glob such as `photos/**/*.jpg`; relative to the topology file.' }),
    extensions: Type.Array(Type.String(), { default: DEFAULT_EXTENSIONS, description: 'File extensions read from a directory (ignored for globs).' }),
    recursive: Type.Boolean({ default: true, description: 'Descend into sub-directories of a directory path.' }),
    watch: Type.Boolean({ default: false, description: 'Keep running and read new files as they appear; without it the run ends when every file is done.' }),
    pollIntervalMs: Type.Integer({ minimum: 10, default: 1000, description: 'How often to look for new files when watching.' }),
    labels: Type.Union([Type.Literal('none'), Type.Literal('parent-folder')], { default: 'none', description: 'Take each image’s ground-truth label from its parent folder name (`horses/`, `humans/`).' }),
    labelMap: Type.Record(Type.String(), Type.String(), { default: {}, description: 'Renames folder names to class labels, e.g. `{ horses: horse, humans: human }`.' }),
    checkpoint: Type.Optional(Type.String({ minLength: 1, description: 'File recording finished files, so a restarted run skips them; relative to the topology file.' })),
    maxFileBytes: Type.Integer({ minimum: 1, default: 67108864, description: 'Files larger than this are not read; they go to the dead-letter sink by reference.' }),
    readAhead: Type.Integer({
      minimum: 1,
      maximum: 256,
      default: 8,
      description: 'Files read at once ahead of the one emitted (still emitted in sorted order); memory held is up to this many files.',
    }),
  },
  { additionalProperties: false },
);

/** Reads the image files named by `path`, in sorted order, once or continuously. */
export const filesSource = defineSource({
  kind: 'files-source',
  role: 'source',
  description: 'Reads images from a directory or glob, with labels from folder names and a checkpoint of finished files.',
  stability: 'beta',
  options,
  examples: [
    { title: 'Every image under a folder, once', options: { path: 'images' } },
    { title: 'JPEGs only, and new files as they arrive', options: { path: 'images/**/*.jpg', watch: true } },
  ],
  claims: (o, baseDir) => (o.checkpoint === undefined ? [] : [`checkpoint file ${path.resolve(baseDir, o.checkpoint)}`]),
  create: (o, ctx): Source => new FilesSource(o.path, ctx.baseDir, ctx.nodeId, {
    extensions: new Set(o.extensions.map((e) => e.toLowerCase().replace(/^\./, ''))),
    recursive: o.recursive,
    watch: o.watch,
    pollIntervalMs: o.pollIntervalMs,
    labels: o.labels,
    labelMap: o.labelMap,
    checkpoint: o.checkpoint === undefined ? undefined : path.resolve(ctx.baseDir, o.checkpoint),
    maxFileBytes: o.maxFileBytes,
    readAhead: o.readAhead,
  }),
});

interface FilesSourceSettings {
  extensions: ReadonlySet<string>;
  recursive: boolean;
  watch: boolean;
  pollIntervalMs: number;
  labels: 'none' | 'parent-folder';
  labelMap: Readonly<Record<string, string>>;
  checkpoint: string | undefined;
  maxFileBytes: number;
  readAhead: number;
}

const PARTITION = 'files';

/** A file as read: its bytes, too large to read, or the error reading it. */
type Loaded =
  | { readonly kind: 'read'; readonly bytes: Buffer; readonly mtimeMs: number }
  | { readonly kind: 'too-large'; readonly size: number; readonly mtimeMs: number }
  | { readonly kind: 'failed'; readonly error: unknown };

class FilesSource implements Source {
  private readonly root: string;
  private readonly isGlob: boolean;
  private readonly gate = new PauseGate();
  private readonly seen = new Set<string>();
  /** Offsets emitted and not yet committed, with their file paths. */
  private readonly pending = new Map<number, string>();
  private committedThrough = -1;
  private nextOffset = 0;

  constructor(
    pattern: string,
    baseDir: string,
    private readonly nodeId: string,
    private readonly settings: FilesSourceSettings,
  ) {
    this.isGlob = /[*?[\]{}]/.test(pattern);
    this.root = path.resolve(baseDir, pattern);
    this.globBase = baseDir;
    this.pattern = pattern;
  }

  private readonly globBase: string;
  private readonly pattern: string;

  async start(ctx: SourceContext): Promise<void> {
    if (this.settings.checkpoint !== undefined) await this.loadCheckpoint(this.settings.checkpoint);
    for (;;) {
      const files = await this.list();
      // Up to `readAhead` files are read at once (each read is several thread-pool round trips);
      // they are emitted in sorted order, so offsets and outputs keep the files' order.
      const reading: { file: string; loaded: Promise<Loaded> }[] = [];
      const emitOldest = async (): Promise<boolean> => {
        await this.gate.whilePaused();
        if (this.gate.stopped) return false;
        const oldest = reading.shift();
        if (oldest !== undefined) this.emit(oldest.file, await oldest.loaded, ctx);
        return true;
      };
      for (const file of files) {
        if (this.seen.has(file)) continue;
        this.seen.add(file);
        if (reading.length >= this.settings.readAhead && !(await emitOldest())) return;
        reading.push({ file, loaded: this.load(file) });
      }
      while (reading.length > 0) if (!(await emitOldest())) return;
      if (!this.settings.watch || this.gate.stopped) return;
      await this.gate.sleep(this.settings.pollIntervalMs);
      if (this.gate.stopped) return;
    }
  }

  pause(): void {
    this.gate.pause();
  }

  resume(): void {
    this.gate.resume();
  }

  async stop(): Promise<void> {
    this.gate.stop();
  }

  async commit(partition: string, offset: number): Promise<void> {
    if (partition !== PARTITION || offset <= this.committedThrough) return;
    const done: string[] = [];
    for (let o = this.committedThrough + 1; o <= offset; o += 1) {
      const file = this.pending.get(o);
      if (file !== undefined) done.push(file);
      this.pending.delete(o);
    }
    this.committedThrough = offset;
    if (this.settings.checkpoint !== undefined && done.length > 0) {
      try {
        await mkdir(path.dirname(this.settings.checkpoint), { recursive: true });
        await appendFile(this.settings.checkpoint, done.map((f) => `${f}\n`).join(''));
      } catch (error) {
        throw new CentaurError('CHECKPOINT_FAILED', `cannot write checkpoint ${this.settings.checkpoint}: ${(error as Error).message}`, { cause: error });
      }
    }
  }

  /** Reads a file (its size first, against maxFileBytes); never rejects. */
  private async load(file: string): Promise<Loaded> {
    try {
      const info = await stat(file);
      if (info.size > this.settings.maxFileBytes) return { kind: 'too-large', size: info.size, mtimeMs: info.mtimeMs };
      return { kind: 'read', bytes: await readFile(file), mtimeMs: info.mtimeMs };
    } catch (error) {
      return { kind: 'failed', error };
    }
  }

  /** Emits a loaded file at the next offset, or fails it to the dead-letter sink by reference. */
  private emit(file: string, loaded: Loaded, ctx: SourceContext): void {
    const offset = this.nextOffset;
    this.nextOffset += 1;
    this.pending.set(offset, file);
    const rel = this.isGlob ? path.relative(this.globBase, file) : path.relative(this.root, file) || path.basename(file);
    const uri = pathToFileURL(file).href;
    const folder = path.basename(path.dirname(file));
    const label = this.settings.labels === 'parent-folder' ? (this.settings.labelMap[folder] ?? folder) : undefined;
    const base = {
      id: rel,
      key: rel,
      position: { source: this.nodeId, partition: PARTITION, offset, uri },
      metadata: { path: rel },
      ...(label === undefined ? {} : { label }),
    };
    if (loaded.kind === 'read') {
      ctx.emit({ ...base, eventTime: Math.round(loaded.mtimeMs), payload: { kind: 'bytes', bytes: loaded.bytes }, sizeBytes: loaded.bytes.length });
    } else if (loaded.kind === 'too-large') {
      const init: EnvelopeInit = { ...base, eventTime: loaded.mtimeMs, payload: { kind: 'reference', uri }, sizeBytes: 0 };
      ctx.fail(init, new CentaurError('INPUT_READ_FAILED', `${rel} is ${loaded.size} bytes, over maxFileBytes ${this.settings.maxFileBytes}`));
    } else {
      const init: EnvelopeInit = { ...base, eventTime: Date.now(), payload: { kind: 'reference', uri }, sizeBytes: 0 };
      ctx.fail(init, new CentaurError('INPUT_READ_FAILED', `cannot read ${rel}: ${(loaded.error as Error).message}`, { cause: loaded.error }));
    }
  }

  private async list(): Promise<string[]> {
    if (this.isGlob) {
      const { glob } = await import('tinyglobby');
      const found = await glob(this.pattern, { cwd: this.globBase, absolute: true, onlyFiles: true });
      return found.map((f) => path.resolve(f)).sort();
    }
    const { glob } = await import('tinyglobby');
    const exts = [...this.settings.extensions];
    const patterns = exts.length === 0 ? ['**/*'] : [`${this.settings.recursive ? '**/' : ''}*.{${exts.join(',')},${exts.map((e) => e.toUpperCase()).join(',')}}`];
    try {
      await stat(this.root);
    } catch {
      throw new CentaurError('CONFIG_INVALID', `files-source path ${this.root} does not exist`);
    }
    const found = await glob(patterns, { cwd: this.root, absolute: true, onlyFiles: true, deep: this.settings.recursive ? Infinity : 1 });
    return found.map((f) => path.resolve(f)).sort();
  }

  private async loadCheckpoint(file: string): Promise<void> {
    try {
      const text = await readFile(file, 'utf8');
      for (const line of text.split('\n')) if (line.length > 0) this.seen.add(line);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new CentaurError('CHECKPOINT_FAILED', `cannot read checkpoint ${file}: ${(error as Error).message}`, { cause: error });
      }
    }
  }

}
