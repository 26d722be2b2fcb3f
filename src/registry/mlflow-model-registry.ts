/**
 * The model registry in MLflow's Model Registry (`mlflow+http://host:port`): a registered model per
 * model, an MLflow model version per version — its files (manifest and model) the artifacts of an
 * MLflow run under `model/`, its Centaur version name in the tag `centaur.version` (MLflow numbers
 * its versions itself) — and MLflow's aliases as the aliases. So a version registered here is one a
 * team sees and promotes in MLflow's UI, and an `infer` node following `production` swaps when
 * someone moves the alias there. The alias history lives in the registered model's tag
 * `centaur.alias-history` (the last 40 moves that fit in MLflow's 5,000-character tag value). Loading downloads a version's artifacts into a local
 * cache and verifies the checksum there.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { displayUrl } from '../core/display-url.js';
import { CentaurError } from '../core/errors.js';
import { loadManifest, sha256File } from '../inference/manifest.js';
import type { LoadedManifest, Manifest } from '../inference/manifest.js';
import type { MlflowClient, MlflowModelVersion } from './mlflow-client.js';
import type { AliasMove, ModelRegistryApi, VersionInfo } from './model-registry.js';
import { listFiles } from './folder-files.js';
import { checkLoadedVersion, registrationOf, REGISTRY_NAME } from './model-registry.js';

/** Tags Centaur puts on MLflow model versions. */
export const MLFLOW_TAGS = { version: 'centaur.version', sha256: 'centaur.sha256', createdAt: 'centaur.createdAt', classes: 'centaur.classes', history: 'centaur.alias-history' } as const;
/** The experiment of the runs that `register` creates for versions not trained by Centaur. */
export const REGISTRY_EXPERIMENT = 'centaur-registry';
const HISTORY_KEPT = 40;
/** MLflow's limit on a tag value, in characters. */
const MAX_TAG = 5000;

/** The `mlflow+http(s)://…` location → the tracking server's URL. */
export function mlflowUrl(location: string): string {
  return location.replace(/^mlflow\+/i, '').replace(/\/+$/, '');
}

/** The version name Centaur uses for an MLflow version (its tag, else MLflow's number); tags are anyone's to edit, so the name is checked where it is used. */
function nameOf(v: MlflowModelVersion): string {
  return v.tags[MLFLOW_TAGS.version] ?? v.version;
}

/** The versions whose names are usable (REGISTRY_NAME) and not shared with another version; the others are left out. */
function usable(versions: readonly MlflowModelVersion[]): MlflowModelVersion[] {
  const counts = new Map<string, number>();
  for (const v of versions) counts.set(nameOf(v), (counts.get(nameOf(v)) ?? 0) + 1);
  return versions.filter((v) => REGISTRY_NAME.test(nameOf(v)) && counts.get(nameOf(v)) === 1);
}

export class MlflowModelRegistry implements ModelRegistryApi {
  readonly root: string;

  constructor(
    location: string,
    private readonly client: MlflowClient,
    private readonly cacheDir: string = path.join(homedir(), '.cache', 'centaur', 'models', createHash('sha256').update(location).digest('hex').slice(0, 16)),
  ) {
    this.root = `mlflow+${displayUrl(mlflowUrl(location))}`;
  }

  async models(): Promise<string[]> {
    return (await this.client.registeredModels()).filter((m) => REGISTRY_NAME.test(m));
  }

  async versions(model: string): Promise<VersionInfo[]> {
    const registered = await this.registered(model);
    const versions = usable(await this.client.modelVersions(model));
    const byNumber = new Map(versions.map((v) => [v.version, nameOf(v)]));
    const aliasesOf = (name: string): string[] => Object.entries(registered.aliases).filter(([, n]) => byNumber.get(n) === name).map(([a]) => a).sort();
    return versions.map((v) => ({
      model,
      version: nameOf(v),
      createdAt: v.tags[MLFLOW_TAGS.createdAt],
      sha256: v.tags[MLFLOW_TAGS.sha256],
      aliases: aliasesOf(nameOf(v)),
      classes: parseClasses(v.tags[MLFLOW_TAGS.classes]),
      metrics: undefined,
    }));
  }

  async aliases(model: string): Promise<Record<string, string>> {
    const registered = await this.client.registeredModel(model);
    if (registered === undefined) return {};
    const versions = usable(await this.client.modelVersions(model));
    const byNumber = new Map(versions.map((v) => [v.version, nameOf(v)]));
    return Object.fromEntries(Object.entries(registered.aliases).flatMap(([alias, number]) => (byNumber.has(number) ? [[alias, byNumber.get(number) as string]] : [])));
  }

  async resolveVersion(model: string, ref: string): Promise<string> {
    return nameOf(await this.find(model, ref));
  }

  async load(model: string, ref: string): Promise<LoadedManifest> {
    const found = await this.find(model, ref);
    const version = nameOf(found);
    const local = path.resolve(this.cacheDir, model, version);
    if (!local.startsWith(`${path.resolve(this.cacheDir)}${path.sep}`)) throw new CentaurError('MODEL_LOAD_FAILED', `\`${model}\` version ${version} has a name that leaves the model cache`);
    const cached = await loadManifest(local).catch(() => undefined);
    const loaded = cached !== undefined && cached.manifest.sha256 === found.tags[MLFLOW_TAGS.sha256] ? cached : await this.download(found, local);
    return checkLoadedVersion(loaded, model, version, ` (MLflow version ${found.version})`);
  }

  /**
   * Uploads a model folder as the artifacts (`model/`) of an MLflow run — the run named in the
   * manifest's `training.mlflow.runId` when it has one (the training that made it), else a new run
   * in the `centaur-registry` experiment — and creates the MLflow model version from them.
   */
  async register(sourceDir: string, options: { version?: string; aliases?: readonly string[] } = {}): Promise<VersionInfo> {
    const { source, model, version } = await registrationOf(sourceDir, options);
    const existing = await this.client.modelVersions(model);
    if (existing.some((v) => nameOf(v) === version)) throw new CentaurError('CONFIG_INVALID', `\`${model}\` version ${version} is already registered; versions are immutable, register a new one`);
    // The training's own run, when it was logged on this server.
    const recorded = source.manifest.training?.mlflow as { runId?: unknown; url?: unknown } | undefined;
    const trainedIn = recorded?.url === this.client.where ? recorded.runId : undefined;
    const ownRun = typeof trainedIn !== 'string';
    const run = ownRun
      ? await this.client.createRun(await this.client.ensureExperiment(REGISTRY_EXPERIMENT), `register ${model} ${version}`, { 'centaur.model': model, 'centaur.version': version })
      : await this.client.getRun(trainedIn);
    const sha256 = await sha256File(source.modelPath);
    const manifest: Manifest = { ...source.manifest, version, sha256, createdAt: source.manifest.createdAt ?? new Date().toISOString() };
    // The training's run may hold this very version already (it logs the version as artifacts).
    const logged = ownRun ? undefined : await this.client.getArtifact(run.artifactUri, 'model/manifest.json').then((b) => JSON.parse(b.toString('utf8')) as Manifest, () => undefined);
    if (logged?.sha256 !== sha256 || logged.version !== version || logged.name !== model) {
      for (const file of (await listFiles(source.dir)).filter((f) => f !== 'manifest.json')) {
        await this.client.putArtifact(run.artifactUri, `model/${file}`, await readFile(path.join(source.dir, file)));
      }
      await this.client.putArtifact(run.artifactUri, 'model/manifest.json', Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), 'application/json');
    }
    if (ownRun) await this.client.endRun(run.runId, 'FINISHED');
    const classesTag = JSON.stringify(manifest.classes);
    await this.client.ensureRegisteredModel(model, 'Registered by Centaur: each version is a model folder (manifest.json + model file) in its run\'s artifacts under model/.');
    await this.client.createModelVersion(
      model,
      `${run.artifactUri}/model`,
      run.runId,
      { [MLFLOW_TAGS.version]: version, [MLFLOW_TAGS.sha256]: sha256, [MLFLOW_TAGS.createdAt]: manifest.createdAt ?? '', ...(classesTag.length <= MAX_TAG ? { [MLFLOW_TAGS.classes]: classesTag } : {}) },
      `${model} version ${version}: ${manifest.classes.length} classes`,
    );
    for (const alias of options.aliases ?? []) await this.setAlias(model, alias, version);
    return (await this.versions(model)).find((v) => v.version === version) as VersionInfo;
  }

  async setAlias(model: string, alias: string, version: string, options: { readonly reason?: string } = {}): Promise<void> {
    if (!REGISTRY_NAME.test(alias)) throw new CentaurError('CONFIG_INVALID', `alias \`${alias}\` must be letters, digits, \`.\`, \`_\` or \`-\``);
    const target = await this.find(model, version, false);
    const before = (await this.aliases(model))[alias];
    await this.client.setAlias(model, alias, target.version);
    const move: AliasMove = { alias, version, from: before ?? null, at: new Date().toISOString(), ...(options.reason === undefined ? {} : { reason: options.reason }) };
    // The newest moves that fit in one MLflow tag value.
    const history = [...(await this.aliasHistory(model)), move].slice(-HISTORY_KEPT);
    while (history.length > 1 && JSON.stringify(history).length > MAX_TAG) history.shift();
    await this.client.setRegisteredModelTag(model, MLFLOW_TAGS.history, JSON.stringify(history));
  }

  async aliasHistory(model: string): Promise<AliasMove[]> {
    const text = (await this.client.registeredModel(model))?.tags[MLFLOW_TAGS.history];
    if (text === undefined) return [];
    try {
      return JSON.parse(text) as AliasMove[];
    } catch {
      return [];
    }
  }

  private async registered(model: string): Promise<{ aliases: Record<string, string> }> {
    if (!REGISTRY_NAME.test(model)) throw new CentaurError('CONFIG_INVALID', `model name \`${model}\` must be letters, digits, \`.\`, \`_\` or \`-\``);
    const registered = await this.client.registeredModel(model);
    if (registered === undefined) throw new CentaurError('MODEL_NOT_FOUND', `no model \`${model}\` in the registry ${this.root}`);
    return registered;
  }

  /** The MLflow version an alias or a Centaur version name stands for (aliases only when `aliasesToo`). */
  private async find(model: string, ref: string, aliasesToo = true): Promise<MlflowModelVersion> {
    const registered = await this.registered(model);
    const versions = usable(await this.client.modelVersions(model));
    const number = aliasesToo ? registered.aliases[ref] : undefined;
    const found = number !== undefined ? versions.find((v) => v.version === number) : versions.find((v) => nameOf(v) === ref);
    if (found === undefined) throw new CentaurError('MODEL_NOT_FOUND', `\`${model}\` has no version${aliasesToo ? ' or alias' : ''} \`${ref}\` in the registry ${this.root}`);
    return found;
  }

  /** Copies a version's artifacts into `local` (replacing a stale copy) and loads it there. */
  private async download(v: MlflowModelVersion, local: string): Promise<LoadedManifest> {
    await rm(local, { recursive: true, force: true });
    for (const file of await this.client.listArtifacts(v.source)) {
      const target = path.resolve(local, file);
      if (!target.startsWith(`${path.resolve(local)}${path.sep}`)) continue;
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, await this.client.getArtifact(v.source, file));
    }
    return loadManifest(local);
  }
}

function parseClasses(text: string | undefined): string[] {
  if (text === undefined) return [];
  try {
    const parsed = JSON.parse(text) as unknown;
    return Array.isArray(parsed) ? parsed.filter((c): c is string => typeof c === 'string') : [];
  } catch {
    return [];
  }
}
