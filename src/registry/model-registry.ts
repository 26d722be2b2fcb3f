/**
 * The model registry: models → immutable versions (a manifest and its files, checksummed) →
 * aliases (`production`, `candidate`, any name) that point at a version and move. Kept in a
 * folder: `<root>/<model>/versions/<version>/manifest.json` (+ files) and
 * `<root>/<model>/aliases.json`. Every write is a rename of a finished temporary, so a reader
 * never sees half a version or half an alias file.
 */
import { randomUUID } from 'node:crypto';
import { appendFile, cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CentaurError } from '../core/errors.js';
import { loadManifest, sha256File } from '../inference/manifest.js';
import type { LoadedManifest, Manifest } from '../inference/manifest.js';

/** A version as listed: its manifest summary and the aliases pointing at it. */
export interface VersionInfo {
  readonly model: string;
  readonly version: string;
  readonly createdAt: string | undefined;
  readonly sha256: string | undefined;
  readonly aliases: readonly string[];
  readonly classes: readonly string[];
  readonly metrics: Readonly<Record<string, unknown>> | undefined;
}

/** One move of an alias, as the registry's history keeps it (rollback reads it). */
export interface AliasMove {
  readonly alias: string;
  readonly version: string;
  /** The version the alias named before, or null when it was new. */
  readonly from: string | null;
  readonly at: string;
  /** Why, when not an ordinary move: `rollback`. */
  readonly reason?: string;
}

/** Names usable as model names, versions and aliases (they become folder and file names). */
export const REGISTRY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const NAME = REGISTRY_NAME;

/** CONFIG_INVALID naming the first of a registration's model name, version and aliases that is not a REGISTRY_NAME. */
export function checkRegistryNames(model: string, version: string, aliases: readonly string[] = []): void {
  for (const [what, name] of [['model name', model], ['version', version], ...aliases.map((a) => ['alias', a] as const)] as const) {
    if (!REGISTRY_NAME.test(name)) throw new CentaurError('CONFIG_INVALID', `${what} \`${name}\` must be letters, digits, \`.\`, \`_\` or \`-\` (at most 128)`);
  }
}

/** A model folder about to be registered: loaded, with the model name and version it will have (names checked). */
export async function registrationOf(sourceDir: string, options: { version?: string; aliases?: readonly string[] }): Promise<{ source: LoadedManifest; model: string; version: string }> {
  const source = await loadManifest(sourceDir);
  const model = source.manifest.name;
  const version = options.version ?? source.manifest.version;
  checkRegistryNames(model, version, options.aliases);
  return { source, model, version };
}

/** MODEL_LOAD_FAILED unless a loaded version has a checksum and is the `model` and `version` it was loaded as (`where` adds to the message). */
export function checkLoadedVersion(loaded: LoadedManifest, model: string, version: string, where = ''): LoadedManifest {
  if (loaded.manifest.sha256 === undefined) throw new CentaurError('MODEL_LOAD_FAILED', `\`${model}\` version ${version} has no checksum; register it again`);
  if (loaded.manifest.name !== model || loaded.manifest.version !== version) {
    throw new CentaurError('MODEL_LOAD_FAILED', `\`${model}\` version ${version}${where} holds a manifest for ${loaded.manifest.name} version ${loaded.manifest.version}`);
  }
  return loaded;
}

/** What every registry offers, whether in a folder or an object store. */
export interface ModelRegistryApi {
  readonly root: string;
  /** Model names, sorted. */
  models(): Promise<string[]>;
  /** Every version of `model` with its aliases. */
  versions(model: string): Promise<VersionInfo[]>;
  /** The alias → version map of `model`. */
  aliases(model: string): Promise<Record<string, string>>;
  /** The version an alias (or a version name) stands for. */
  resolveVersion(model: string, ref: string): Promise<string>;
  /** A version on local disk, checksum verified. */
  load(model: string, ref: string): Promise<LoadedManifest>;
  /** Adds a model folder as a new immutable version. */
  register(sourceDir: string, options?: { version?: string; aliases?: readonly string[] }): Promise<VersionInfo>;
  /** Points an alias at a version, recording the move in the alias history. */
  setAlias(model: string, alias: string, version: string, options?: { readonly reason?: string }): Promise<void>;
  /** Every alias move of `model`, oldest first. */
  aliasHistory(model: string): Promise<AliasMove[]>;
}

export class ModelRegistry implements ModelRegistryApi {
  constructor(readonly root: string) {}

  /** Model names, sorted. */
  async models(): Promise<string[]> {
    const entries = await readdir(this.root, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    return entries.filter((e) => e.isDirectory() && NAME.test(e.name)).map((e) => e.name).sort();
  }

  /** Every version of `model` with its aliases, oldest first by creation time then name. */
  async versions(model: string): Promise<VersionInfo[]> {
    const dir = path.join(this.modelDir(model), 'versions');
    const entries = await readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw new CentaurError('MODEL_NOT_FOUND', `no model \`${model}\` in the registry ${this.root}`);
      throw error;
    });
    const aliases = await this.aliases(model);
    const infos: VersionInfo[] = [];
    for (const e of entries) {
      if (!e.isDirectory() || !NAME.test(e.name)) continue;
      const manifest = JSON.parse(await readFile(path.join(dir, e.name, 'manifest.json'), 'utf8')) as Manifest;
      infos.push({
        model,
        version: e.name,
        createdAt: manifest.createdAt,
        sha256: manifest.sha256,
        aliases: Object.entries(aliases).filter(([, v]) => v === e.name).map(([a]) => a).sort(),
        classes: manifest.classes,
        metrics: manifest.metrics,
      });
    }
    return infos.sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.version.localeCompare(b.version, undefined, { numeric: true }));
  }

  /** The alias → version map of `model` (empty when none is set). */
  async aliases(model: string): Promise<Record<string, string>> {
    try {
      return JSON.parse(await readFile(path.join(this.modelDir(model), 'aliases.json'), 'utf8')) as Record<string, string>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new CentaurError('MODEL_LOAD_FAILED', `cannot read the aliases of \`${model}\`: ${(error as Error).message}`, { cause: error });
    }
  }

  /** The version an alias (or a version name) stands for; MODEL_NOT_FOUND when neither exists. */
  async resolveVersion(model: string, ref: string): Promise<string> {
    const aliases = await this.aliases(model);
    const version = aliases[ref] ?? ref;
    if (!NAME.test(version) || !(await isDir(path.join(this.modelDir(model), 'versions', version)))) {
      throw new CentaurError('MODEL_NOT_FOUND', `\`${model}\` has no version or alias \`${ref}\` in the registry ${this.root}`);
    }
    return version;
  }

  /** Loads the version `ref` (alias or version) with its checksum verified. */
  async load(model: string, ref: string): Promise<LoadedManifest> {
    const version = await this.resolveVersion(model, ref);
    return checkLoadedVersion(await loadManifest(path.join(this.modelDir(model), 'versions', version)), model, version);
  }

  /**
   * Copies a model folder (manifest + files) in as a new immutable version, recording the model
   * file's sha256 and the registration time; optionally points aliases at it.
   */
  async register(sourceDir: string, options: { version?: string; aliases?: readonly string[] } = {}): Promise<VersionInfo> {
    const { source, model, version } = await registrationOf(sourceDir, options);
    const versionsDir = path.join(this.modelDir(model), 'versions');
    const target = path.join(versionsDir, version);
    if (await isDir(target)) throw new CentaurError('CONFIG_INVALID', `\`${model}\` version ${version} is already registered; versions are immutable, register a new one`);
    await mkdir(versionsDir, { recursive: true });
    const staging = path.join(versionsDir, `.staging-${randomUUID()}`);
    try {
      await cp(source.dir, staging, { recursive: true });
      const sha256 = await sha256File(path.join(staging, source.manifest.file));
      const manifest: Manifest = { ...source.manifest, version, sha256, createdAt: source.manifest.createdAt ?? new Date().toISOString() };
      await writeFile(path.join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      await rename(staging, target);
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      if (error instanceof CentaurError) throw error;
      throw new CentaurError('MODEL_LOAD_FAILED', `cannot register ${source.dir} as \`${model}\` version ${version}: ${(error as Error).message}`, { cause: error });
    }
    for (const alias of options.aliases ?? []) await this.setAlias(model, alias, version);
    const info = (await this.versions(model)).find((v) => v.version === version);
    return info as VersionInfo;
  }

  /** Points `alias` at `version` (which must exist); an infer node following the alias swaps to it. */
  async setAlias(model: string, alias: string, version: string, options: { readonly reason?: string } = {}): Promise<void> {
    if (!NAME.test(alias)) throw new CentaurError('CONFIG_INVALID', `alias \`${alias}\` must be letters, digits, \`.\`, \`_\` or \`-\``);
    if (!NAME.test(version) || !(await isDir(path.join(this.modelDir(model), 'versions', version)))) {
      throw new CentaurError('MODEL_NOT_FOUND', `\`${model}\` has no version ${version} in the registry ${this.root}`);
    }
    const before = await this.aliases(model);
    const aliases = { ...before, [alias]: version };
    const file = path.join(this.modelDir(model), 'aliases.json');
    const temporary = `${file}.${randomUUID()}.tmp`;
    await writeFile(temporary, `${JSON.stringify(aliases, null, 2)}\n`);
    await rename(temporary, file);
    const move: AliasMove = { alias, version, from: before[alias] ?? null, at: new Date().toISOString(), ...(options.reason === undefined ? {} : { reason: options.reason }) };
    await appendFile(path.join(this.modelDir(model), 'alias-history.jsonl'), `${JSON.stringify(move)}\n`);
  }

  /** Every alias move of `model`, oldest first (empty for a registry written before the history was kept). */
  async aliasHistory(model: string): Promise<AliasMove[]> {
    const text = await readFile(path.join(this.modelDir(model), 'alias-history.jsonl'), 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw error;
    });
    return text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as AliasMove);
  }

  private modelDir(model: string): string {
    if (!NAME.test(model)) throw new CentaurError('CONFIG_INVALID', `model name \`${model}\` must be letters, digits, \`.\`, \`_\` or \`-\``);
    return path.join(this.root, model);
  }
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}
