/**
 * A client of the MLflow tracking server's REST API (2.0), for what Centaur records there:
 * experiments, runs with parameters and per-step metrics, artifacts through the server's artifact
 * proxy (`mlflow server --serve-artifacts`, the default), and the Model Registry — registered
 * models, versions with tags, and aliases. Credentials come from MLflow's own environment variables
 * (`MLFLOW_TRACKING_TOKEN`, or `MLFLOW_TRACKING_USERNAME` and `MLFLOW_TRACKING_PASSWORD`) and never
 * appear in messages. Unreachable, timed out, 5xx or 429 → MLFLOW_UNAVAILABLE (retriable); other
 * refusals → MLFLOW_REFUSED with the server's answer.
 */
import { displayUrl } from '../core/display-url.js';
import { CentaurError } from '../core/errors.js';

/** How to reach the server. */
export interface MlflowConnection {
  /** The tracking server, e.g. http://127.0.0.1:5000. */
  readonly url: string;
  readonly timeoutMs: number;
  /** Authorization header value, from MLflow's environment variables by default. */
  readonly authorization?: string;
}

/** The Authorization header MLflow's clients send, from their environment variables. */
export function mlflowAuthorization(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.MLFLOW_TRACKING_TOKEN !== undefined && env.MLFLOW_TRACKING_TOKEN !== '') return `Bearer ${env.MLFLOW_TRACKING_TOKEN}`;
  if (env.MLFLOW_TRACKING_USERNAME !== undefined && env.MLFLOW_TRACKING_PASSWORD !== undefined) {
    return `Basic ${Buffer.from(`${env.MLFLOW_TRACKING_USERNAME}:${env.MLFLOW_TRACKING_PASSWORD}`).toString('base64')}`;
  }
  return undefined;
}

/** A run as MLflow returns it (the fields used). */
export interface MlflowRun {
  readonly runId: string;
  readonly experimentId: string;
  readonly artifactUri: string;
  readonly status: string;
  readonly tags: Readonly<Record<string, string>>;
}

/** A model version as MLflow returns it (the fields used). */
export interface MlflowModelVersion {
  readonly name: string;
  /** MLflow's own number for it. */
  readonly version: string;
  readonly source: string;
  readonly runId: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
  readonly aliases: readonly string[];
}

/** A metric point. */
export interface MlflowMetric {
  readonly key: string;
  readonly value: number;
  readonly step: number;
  readonly timestamp: number;
}

interface RawVersion {
  name?: string;
  version?: string;
  source?: string;
  run_id?: string;
  tags?: { key: string; value: string }[];
  aliases?: string[];
}

const ARTIFACT_SCHEME = 'mlflow-artifacts:';

function tagsOf(tags: readonly { key: string; value: string }[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.key, t.value]));
}

function versionOf(raw: RawVersion | undefined): MlflowModelVersion {
  if (raw?.name === undefined || raw.version === undefined) throw new CentaurError('MLFLOW_REFUSED', 'MLflow answered without a model version');
  return { name: raw.name, version: raw.version, source: raw.source ?? '', runId: raw.run_id === '' ? undefined : raw.run_id, tags: tagsOf(raw.tags), aliases: raw.aliases ?? [] };
}

export class MlflowClient {
  /** CONFIG_INVALID for a URL that is not http(s) or carries credentials (they belong in MLflow's variables, never in a URL that messages show). */
  constructor(private readonly connection: MlflowConnection) {
    let u: URL;
    try {
      u = new URL(connection.url);
    } catch {
      throw new CentaurError('CONFIG_INVALID', 'the MLflow tracking URL is not a URL');
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new CentaurError('CONFIG_INVALID', `the MLflow tracking URL must be http(s), not ${u.protocol}`);
    if (u.username !== '' || u.password !== '') {
      throw new CentaurError('CONFIG_INVALID', `the MLflow tracking URL ${displayUrl(connection.url)} carries credentials; give them in MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN)`);
    }
  }

  /** The server's address without any user:password part, for messages. */
  get where(): string {
    return displayUrl(this.connection.url);
  }

  /** The id of the experiment named `name`, created when missing. */
  async ensureExperiment(name: string): Promise<string> {
    const found = await this.call<{ experiment?: { experiment_id?: string } }>('GET', `/api/2.0/mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`, undefined, true);
    const id = found?.experiment?.experiment_id;
    if (id !== undefined) return id;
    const created = await this.call<{ experiment_id: string }>('POST', '/api/2.0/mlflow/experiments/create', { name });
    return created.experiment_id;
  }

  /** Starts a run in `experimentId`. */
  async createRun(experimentId: string, runName: string, tags: Readonly<Record<string, string>>): Promise<MlflowRun> {
    const answer = await this.call<{ run: { info: { run_id: string; experiment_id: string; artifact_uri: string; status: string } } }>('POST', '/api/2.0/mlflow/runs/create', {
      experiment_id: experimentId,
      run_name: runName,
      start_time: Date.now(),
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    });
    const info = answer.run.info;
    return { runId: info.run_id, experimentId: info.experiment_id, artifactUri: info.artifact_uri, status: info.status, tags: { ...tags } };
  }

  /** A run by id. */
  async getRun(runId: string): Promise<MlflowRun> {
    const answer = await this.call<{ run: { info: { run_id: string; experiment_id: string; artifact_uri: string; status: string }; data?: { tags?: { key: string; value: string }[] } } }>('GET', `/api/2.0/mlflow/runs/get?run_id=${encodeURIComponent(runId)}`);
    const info = answer.run.info;
    return { runId: info.run_id, experimentId: info.experiment_id, artifactUri: info.artifact_uri, status: info.status, tags: tagsOf(answer.run.data?.tags) };
  }

  /** Logs parameters, metrics and tags, in MLflow's batch limits (100 parameters, 1,000 metrics a request). */
  async logBatch(runId: string, o: { params?: Readonly<Record<string, string>>; metrics?: readonly MlflowMetric[]; tags?: Readonly<Record<string, string>> }): Promise<void> {
    const params = Object.entries(o.params ?? {}).map(([key, value]) => ({ key, value: value.slice(0, 6000) }));
    const metrics = [...(o.metrics ?? [])];
    const tags = Object.entries(o.tags ?? {}).map(([key, value]) => ({ key, value }));
    do {
      await this.call('POST', '/api/2.0/mlflow/runs/log-batch', { run_id: runId, params: params.splice(0, 100), metrics: metrics.splice(0, 1000), tags: tags.splice(0, 100) });
    } while (params.length > 0 || metrics.length > 0 || tags.length > 0);
  }

  /** Ends a run as FINISHED or FAILED. */
  async endRun(runId: string, status: 'FINISHED' | 'FAILED'): Promise<void> {
    await this.call('POST', '/api/2.0/mlflow/runs/update', { run_id: runId, status, end_time: Date.now() });
  }

  /** Uploads one artifact of a run at `relativePath` (below its artifact root). */
  async putArtifact(artifactUri: string, relativePath: string, body: Uint8Array, contentType = 'application/octet-stream'): Promise<void> {
    await this.call('PUT', `/api/2.0/mlflow-artifacts/artifacts/${this.artifactPath(artifactUri, relativePath)}`, body, false, contentType);
  }

  /** Downloads one artifact (`artifactUri` names a file, or a folder with `relativePath` in it). */
  async getArtifact(artifactUri: string, relativePath = ''): Promise<Buffer> {
    return this.raw('GET', `/api/2.0/mlflow-artifacts/artifacts/${this.artifactPath(artifactUri, relativePath)}`);
  }

  /** The files below an artifact folder, relative to it, every level. */
  async listArtifacts(artifactUri: string, relativePath = ''): Promise<string[]> {
    const base = this.artifactPath(artifactUri, relativePath);
    const answer = await this.call<{ files?: { path: string; is_dir?: boolean }[] }>('GET', `/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(decodeURIComponent(base))}`);
    const out: string[] = [];
    for (const f of answer.files ?? []) {
      const child = relativePath === '' ? f.path : `${relativePath}/${f.path}`;
      if (f.is_dir === true) out.push(...(await this.listArtifacts(artifactUri, child)));
      else out.push(child);
    }
    return out;
  }

  /** Creates the registered model unless it exists. */
  async ensureRegisteredModel(name: string, description?: string): Promise<void> {
    const found = await this.call('GET', `/api/2.0/mlflow/registered-models/get?name=${encodeURIComponent(name)}`, undefined, true);
    if (found !== undefined) return;
    await this.call('POST', '/api/2.0/mlflow/registered-models/create', { name, ...(description === undefined ? {} : { description }) });
  }

  /** Registered model names, sorted. */
  async registeredModels(): Promise<string[]> {
    const names: string[] = [];
    let token: string | undefined;
    do {
      const answer = await this.call<{ registered_models?: { name: string }[]; next_page_token?: string }>('GET', `/api/2.0/mlflow/registered-models/search?max_results=1000${token === undefined ? '' : `&page_token=${encodeURIComponent(token)}`}`);
      names.push(...(answer.registered_models ?? []).map((m) => m.name));
      token = answer.next_page_token === '' ? undefined : answer.next_page_token;
    } while (token !== undefined);
    return names.sort();
  }

  /** The registered model's aliases (alias → MLflow version) and tags; undefined when it does not exist. */
  async registeredModel(name: string): Promise<{ aliases: Record<string, string>; tags: Record<string, string> } | undefined> {
    const answer = await this.call<{ registered_model?: { aliases?: { alias: string; version: string }[]; tags?: { key: string; value: string }[] } }>('GET', `/api/2.0/mlflow/registered-models/get?name=${encodeURIComponent(name)}`, undefined, true);
    if (answer?.registered_model === undefined) return undefined;
    return { aliases: Object.fromEntries((answer.registered_model.aliases ?? []).map((a) => [a.alias, a.version])), tags: tagsOf(answer.registered_model.tags) };
  }

  /** Sets a tag of a registered model. */
  async setRegisteredModelTag(name: string, key: string, value: string): Promise<void> {
    await this.call('POST', '/api/2.0/mlflow/registered-models/set-tag', { name, key, value });
  }

  /** Every version of a registered model. */
  async modelVersions(name: string): Promise<MlflowModelVersion[]> {
    const out: MlflowModelVersion[] = [];
    let token: string | undefined;
    do {
      const filter = encodeURIComponent(`name='${name.replaceAll("'", "\\'")}'`);
      const answer = await this.call<{ model_versions?: RawVersion[]; next_page_token?: string }>('GET', `/api/2.0/mlflow/model-versions/search?filter=${filter}&max_results=10000${token === undefined ? '' : `&page_token=${encodeURIComponent(token)}`}`);
      out.push(...(answer.model_versions ?? []).map(versionOf));
      token = answer.next_page_token === '' ? undefined : answer.next_page_token;
    } while (token !== undefined);
    return out.sort((a, b) => Number(a.version) - Number(b.version));
  }

  /** Adds a version with its files at `source` (an artifact URI of `runId`). */
  async createModelVersion(name: string, source: string, runId: string | undefined, tags: Readonly<Record<string, string>>, description?: string): Promise<MlflowModelVersion> {
    const answer = await this.call<{ model_version?: RawVersion }>('POST', '/api/2.0/mlflow/model-versions/create', {
      name,
      source,
      ...(runId === undefined ? {} : { run_id: runId }),
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
      ...(description === undefined ? {} : { description }),
    });
    return versionOf(answer.model_version);
  }

  /** Points an alias at an MLflow version. */
  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.call('POST', '/api/2.0/mlflow/registered-models/alias', { name, alias, version });
  }

  /** The `mlflow-artifacts:` path of a run's artifact root, plus a relative path, URL-encoded by segment. */
  private artifactPath(artifactUri: string, relativePath: string): string {
    if (!artifactUri.startsWith(ARTIFACT_SCHEME)) {
      throw new CentaurError('MLFLOW_REFUSED', `the artifact location ${artifactUri} is not served by the tracking server (start it with --serve-artifacts); Centaur reads and writes artifacts through the server only`);
    }
    const root = artifactUri.slice(ARTIFACT_SCHEME.length).replace(/^\/+/, '').replace(/\/+$/, '');
    const joined = relativePath === '' ? root : `${root}/${relativePath}`;
    if (joined.split('/').some((s) => s === '..' || s === '.')) throw new CentaurError('MLFLOW_REFUSED', `artifact path ${joined} leaves its root`);
    return joined.split('/').map(encodeURIComponent).join('/');
  }

  private async raw(method: string, path: string, body?: Uint8Array | string, contentType?: string): Promise<Buffer> {
    const url = `${this.connection.url.replace(/\/+$/, '')}${path}`;
    try {
      const response = await fetch(url, {
        method,
        headers: {
          ...(contentType === undefined ? {} : { 'content-type': contentType }),
          ...(this.connection.authorization === undefined ? {} : { authorization: this.connection.authorization }),
        },
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(this.connection.timeoutMs),
      });
      // The body too: the deadline covers it, and a reset can come in the middle.
      const bytes = Buffer.from(await response.arrayBuffer());
      return this.checked(method, path, response, bytes);
    } catch (error) {
      if (error instanceof CentaurError) throw error;
      throw new CentaurError('MLFLOW_UNAVAILABLE', `MLflow at ${this.where} is unreachable: ${(error as Error).message}`, { retriable: true });
    }
  }

  /** The body of a successful answer; MLFLOW_UNAVAILABLE for 5xx and 429, MLFLOW_REFUSED for other failures. */
  private checked(method: string, path: string, response: Response, bytes: Buffer): Buffer {
    if (!response.ok) {
      const what = `MLflow at ${this.where} answered ${method} ${path.split('?')[0] ?? path}: HTTP ${response.status} ${bytes.toString('utf8').slice(0, 300)}`;
      if (response.status >= 500 || response.status === 429) throw new CentaurError('MLFLOW_UNAVAILABLE', what, { retriable: true });
      throw new CentaurError('MLFLOW_REFUSED', what, { cause: { status: response.status } });
    }
    return bytes;
  }

  /** A JSON call; with `missingIsUndefined`, a 404 (RESOURCE_DOES_NOT_EXIST) resolves to undefined. */
  private async call<T>(method: string, path: string, body?: unknown, missingIsUndefined?: false, contentType?: string): Promise<T>;
  private async call<T>(method: string, path: string, body: unknown, missingIsUndefined: true): Promise<T | undefined>;
  private async call<T>(method: string, path: string, body?: unknown, missingIsUndefined = false, contentType?: string): Promise<T | undefined> {
    const isBytes = body instanceof Uint8Array;
    try {
      const bytes = await this.raw(method, path, body === undefined ? undefined : isBytes ? body : JSON.stringify(body), body === undefined ? undefined : isBytes ? contentType : 'application/json');
      return bytes.length === 0 ? ({} as T) : (JSON.parse(bytes.toString('utf8')) as T);
    } catch (error) {
      if (missingIsUndefined && error instanceof CentaurError && error.code === 'MLFLOW_REFUSED' && /HTTP 404/.test(error.message)) return undefined;
      if (error instanceof SyntaxError) throw new CentaurError('MLFLOW_REFUSED', `MLflow at ${this.where} answered ${method} ${path.split('?')[0] ?? path} with something other than JSON`);
      throw error;
    }
  }
}
