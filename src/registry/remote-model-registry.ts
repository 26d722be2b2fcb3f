/**
 * The model registry in an object store (`s3://bucket/prefix`, `azure://container/prefix`), with
 * the folder registry's layout and rules: `<root>/<model>/versions/<version>/…` and
 * `<root>/<model>/aliases.json`. A version's files are uploaded before its manifest, and a
 * version exists only once its manifest does, so a reader never sees half a version; an alias
 * file is one object, replaced whole. Loading downloads a version into a local cache folder (the
 * backends read model files from disk) and verifies its checksum there.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { CentaurError } from '../core/errors.js';
import { loadManifest, sha256File } from '../inference/manifest.js';
import type { LoadedManifest, Manifest } from '../inference/manifest.js';
import type { ObjectStore } from '../storage/object-store.js';
import { writeFile } from 'node:fs/promises';
import type { AliasMove, ModelRegistryApi, VersionInfo } from './model-registry.js';
import { listFiles } from './folder-files.js';
import { checkLoadedVersion, registrationOf, REGISTRY_NAME } from './model-registry.js';

/** Largest single file a registry version may hold (models, shards, profiles). */
const MAX_FILE_BYTES = 4 * 1024 * 1024 * 1024;

export class RemoteModelRegistry implements ModelRegistryApi {
  readonly root: string;

  constructor(
    root: string,
    private readonly store: ObjectStore,
    private readonly cacheDir: string = path.join(homedir(), '.cache', 'centaur', 'models', createHash('sha256').update(root).digest('hex').slice(0, 16)),
  ) {
    this.root = root.replace(/\/+$/, '');
  }

  async models(): Promise<string[]> {
    const names = new Set<string>();
    for await (const key of this.keys(`${this.root}/`)) {
      const [model, kind] = key.split('/');
      if (model !== undefined && REGISTRY_NAME.test(model) && (kind === 'versions' || kind === 'aliases.json')) names.add(model);
    }
    return [...names].sort();
  }

  async versions(model: string): Promise<VersionInfo[]> {
    const prefix = `${this.modelUri(model)}/versions/`;
    const versions: string[] = [];
    for await (const key of this.keys(prefix)) {
      const [version, file] = key.split('/');
      if (version !== undefined && file === 'manifest.json' && REGISTRY_NAME.test(version)) versions.push(version);
    }
    if (versions.length === 0) throw new CentaurError('MODEL_NOT_FOUND', `no model \`${model}\` in the registry ${this.root}`);
    const aliases = await this.aliases(model);
    const infos = await Promise.all(
      versions.map(async (version): Promise<VersionInfo> => {
        const manifest = JSON.parse((await this.store.get(`${prefix}${version}/manifest.json`)).toString('utf8')) as Manifest;
        return {
          model,
          version,
          createdAt: manifest.createdAt,
          sha256: manifest.sha256,
          aliases: Object.entries(aliases).filter(([, v]) => v === version).map(([a]) => a).sort(),
          classes: manifest.classes,
          metrics: manifest.metrics,
        };
      }),
    );
    return infos.sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.version.localeCompare(b.version, undefined, { numeric: true }));
  }

  async aliases(model: string): Promise<Record<string, string>> {
    const uri = `${this.modelUri(model)}/aliases.json`;
    if (!(await this.store.exists(uri))) return {};
    return JSON.parse((await this.store.get(uri)).toString('utf8')) as Record<string, string>;
  }

  async resolveVersion(model: string, ref: string): Promise<string> {
    const version = (await this.aliases(model))[ref] ?? ref;
    if (!REGISTRY_NAME.test(version) || !(await this.store.exists(`${this.modelUri(model)}/versions/${version}/manifest.json`))) {
      throw new CentaurError('MODEL_NOT_FOUND', `\`${model}\` has no version or alias \`${ref}\` in the registry ${this.root}`);
    }
    return version;
  }

  async load(model: string, ref: string): Promise<LoadedManifest> {
    const version = await this.resolveVersion(model, ref);
    const local = path.join(this.cacheDir, model, version);
    const cached = await loadManifest(local).catch(() => undefined);
    const loaded = cached ?? (await this.download(model, version, local));
    return checkLoadedVersion(loaded, model, version);
  }

  async register(sourceDir: string, options: { version?: string; aliases?: readonly string[] } = {}): Promise<VersionInfo> {
    const { source, model, version } = await registrationOf(sourceDir, options);
    const base = `${this.modelUri(model)}/versions/${version}`;
    if (await this.store.exists(`${base}/manifest.json`)) throw new CentaurError('CONFIG_INVALID', `\`${model}\` version ${version} is already registered; versions are immutable, register a new one`);
    const files = (await listFiles(source.dir)).filter((f) => f !== 'manifest.json');
    for (const file of files) await this.store.put(`${base}/${file}`, await readFile(path.join(source.dir, file)));
    const sha256 = await sha256File(source.modelPath);
    const manifest: Manifest = { ...source.manifest, version, sha256, createdAt: source.manifest.createdAt ?? new Date().toISOString() };
    // The manifest last: the version exists from this write on.
    await this.store.put(`${base}/manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`, { contentType: 'application/json' });
    for (const alias of options.aliases ?? []) await this.setAlias(model, alias, version);
    return (await this.versions(model)).find((v) => v.version === version) as VersionInfo;
  }

  async setAlias(model: string, alias: string, version: string, options: { readonly reason?: string } = {}): Promise<void> {
    if (!REGISTRY_NAME.test(alias)) throw new CentaurError('CONFIG_INVALID', `alias \`${alias}\` must be letters, digits, \`.\`, \`_\` or \`-\``);
    if (!REGISTRY_NAME.test(version) || !(await this.store.exists(`${this.modelUri(model)}/versions/${version}/manifest.json`))) {
      throw new CentaurError('MODEL_NOT_FOUND', `\`${model}\` has no version ${version} in the registry ${this.root}`);
    }
    const before = await this.aliases(model);
    const aliases = { ...before, [alias]: version };
    await this.store.put(`${this.modelUri(model)}/aliases.json`, `${JSON.stringify(aliases, null, 2)}\n`, { contentType: 'application/json' });
    const move: AliasMove = { alias, version, from: before[alias] ?? null, at: new Date().toISOString(), ...(options.reason === undefined ? {} : { reason: options.reason }) };
    const history = [...(await this.aliasHistory(model)), move];
    await this.store.put(`${this.modelUri(model)}/alias-history.json`, `${JSON.stringify(history, null, 2)}\n`, { contentType: 'application/json' });
  }

  async aliasHistory(model: string): Promise<AliasMove[]> {
    const uri = `${this.modelUri(model)}/alias-history.json`;
    if (!(await this.store.exists(uri))) return [];
    return JSON.parse((await this.store.get(uri)).toString('utf8')) as AliasMove[];
  }

  /** Copies a version's objects into `local` (replacing a stale copy) and loads it there. */
  private async download(model: string, version: string, local: string): Promise<LoadedManifest> {
    await rm(local, { recursive: true, force: true });
    const prefix = `${this.modelUri(model)}/versions/${version}/`;
    for await (const key of this.keys(prefix)) {
      const target = path.resolve(local, key);
      if (!target.startsWith(`${path.resolve(local)}${path.sep}`)) continue;
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, await this.store.get(`${prefix}${key}`, { maxBytes: MAX_FILE_BYTES }));
    }
    return loadManifest(local);
  }

  /** Keys below `prefixUri` (relative to it), every page. */
  private async *keys(prefixUri: string): AsyncGenerator<string> {
    let continuation: string | undefined;
    do {
      const page = await this.store.list(prefixUri, continuation === undefined ? {} : { continuation });
      for (const o of page.objects) if (o.uri.startsWith(prefixUri)) yield o.uri.slice(prefixUri.length);
      continuation = page.continuation;
    } while (continuation !== undefined);
  }

  private modelUri(model: string): string {
    if (!REGISTRY_NAME.test(model)) throw new CentaurError('CONFIG_INVALID', `model name \`${model}\` must be letters, digits, \`.\`, \`_\` or \`-\``);
    return `${this.root}/${model}`;
  }
}
