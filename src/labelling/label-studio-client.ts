/**
 * The part of Label Studio's REST API a labelling pipeline needs: find or create a project with a
 * choices labelling config, find a task by the input id it carries (task creation is not idempotent,
 * so a retried write looks first), connect a local-files storage (Label Studio serves local images
 * only under one), and import tasks with a pre-annotation. Authentication is a
 * legacy API token (`Authorization: Token …`) or a personal access token, exchanged for a
 * short-lived access token (`/api/token/refresh`) and renewed when it expires. Errors are typed:
 * unreachable, 5xx and 429 are retriable; other answers are not. The token never
 * appears in an error message. The sink's errors are `SINK_WRITE_FAILED`; a reader (the label
 * source) names its own code.
 */
import { displayUrl } from '../core/display-url.js';
import { CentaurError } from '../core/errors.js';

/** How to reach and authenticate with the server. */
export interface LabelStudioConnection {
  readonly url: string;
  readonly token: string;
  /** `legacy`: the token is sent as is; `personal`: a personal access token (refresh token). */
  readonly tokenType: 'legacy' | 'personal';
  readonly timeoutMs: number;
  /** The code of the client's errors: `SINK_WRITE_FAILED` (default) for the sink, `LABEL_STUDIO_UNAVAILABLE` for the source. */
  readonly errorCode?: 'SINK_WRITE_FAILED' | 'LABEL_STUDIO_UNAVAILABLE';
}

/** One annotation of a task, as the tasks API returns it. */
export interface LabelStudioAnnotation {
  readonly id: number;
  /** The Label Studio user id of the annotator. */
  readonly completedBy: number | null;
  readonly updatedAt: string;
  readonly wasCancelled: boolean;
  readonly result: readonly { readonly from_name?: unknown; readonly type?: unknown; readonly value?: unknown }[];
}

/** A task with its data and annotations. */
export interface LabelStudioTaskRecord {
  readonly id: number;
  /** When the task or any of its annotations last changed (ISO 8601, as the server wrote it). */
  readonly updatedAt: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly annotations: readonly LabelStudioAnnotation[];
}

/** A task to import: its data (the image URL and the input's fields) and the model's pre-annotation. */
export interface LabelStudioTask {
  readonly data: Readonly<Record<string, string | number>>;
  readonly prediction: { readonly modelVersion: string; readonly score: number; readonly choice: string };
}

/** The choice a person picks when an input is none of the model's classes. */
export const NEW_CLASS_CHOICE = 'other / new class';

/** Escapes text for an XML attribute. */
function xmlAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The text area where an annotator names the new class after choosing "other / new class". */
export const NEW_CLASS_FIELD = 'newClass';

/** The labelling config: the image, one choice per class plus "other / new class", and a field naming the new class. */
export function choicesConfig(classes: readonly string[]): string {
  const choices = [...classes, NEW_CLASS_CHOICE].map((c) => `<Choice value="${xmlAttribute(c)}"/>`).join('');
  const newClass = `<TextArea name="${NEW_CLASS_FIELD}" toName="image" placeholder="name of the new class" maxSubmissions="1" visibleWhen="choice-selected" whenTagName="label" whenChoiceValue="${xmlAttribute(NEW_CLASS_CHOICE)}"/>`;
  return `<View><Image name="image" value="$image"/><Choices name="label" toName="image" choice="single" showInline="true">${choices}</Choices>${newClass}</View>`;
}

/** A Label Studio server; why: the sink (and later the label source) speak to it through one client. */
export class LabelStudioClient {
  private access: string | undefined;

  constructor(private readonly connection: LabelStudioConnection) {}

  /** The id of the project with this title, created with a choices config for `classes` when missing. */
  async ensureProject(title: string, classes: readonly string[]): Promise<number> {
    const existing = await this.findProject(title);
    if (existing !== undefined) return existing;
    const created = await this.request<{ id: number }>('POST', '/api/projects', { title, label_config: choicesConfig(classes) });
    return created.id;
  }

  /** The id of the project with this title, or undefined when there is none. */
  async findProject(title: string): Promise<number | undefined> {
    const found = await this.request<{ results?: { id: number; title: string }[] } | { id: number; title: string }[]>('GET', `/api/projects?title=${encodeURIComponent(title)}&page_size=100`);
    const list = Array.isArray(found) ? found : (found.results ?? []);
    return list.find((p) => p.title === title)?.id;
  }

  /**
   * Connects a local-files storage for `dir` to the project unless one already covers it; why:
   * Label Studio serves a local file only under a storage of the project (never its document root itself).
   */
  async ensureLocalStorage(project: number, dir: string): Promise<void> {
    const storages = await this.request<{ path?: string }[]>('GET', `/api/storages/localfiles?project=${project}`);
    const covered = storages.some((x) => typeof x.path === 'string' && (dir === x.path || dir.startsWith(`${x.path.replace(/\/+$/, '')}/`)));
    if (!covered) await this.request('POST', '/api/storages/localfiles', { project, path: dir, use_blob_urls: false, title: 'centaur images' });
  }

  /** The id of the project's task whose data carries this input id, or undefined. */
  async findTask(project: number, inputId: string): Promise<number | undefined> {
    const query = JSON.stringify({ filters: { conjunction: 'and', items: [{ filter: 'filter:tasks:data.inputId', operator: 'equal', type: 'String', value: inputId }] } });
    const answer = await this.request<{ tasks?: { id: number; data?: { inputId?: unknown } }[] }>('GET', `/api/tasks?project=${project}&page_size=10&query=${encodeURIComponent(query)}`);
    return (answer.tasks ?? []).find((t) => t.data?.inputId === inputId)?.id;
  }

  /** Imports tasks with their pre-annotations into a project. */
  async importTasks(project: number, tasks: readonly LabelStudioTask[]): Promise<number> {
    if (tasks.length === 0) return 0;
    const body = tasks.map((t) => ({
      data: t.data,
      predictions: [{ model_version: t.prediction.modelVersion, score: t.prediction.score, result: [{ from_name: 'label', to_name: 'image', type: 'choices', value: { choices: [t.prediction.choice] } }] }],
    }));
    const answer = await this.request<{ task_count?: number }>('POST', `/api/projects/${project}/import`, body);
    return answer.task_count ?? tasks.length;
  }

  /**
   * Up to `pageSize` tasks of the project changed after `afterMs` (ms since the epoch), oldest
   * change first; why: the label source reads annotations as they are made, by keyset pages on
   * the task's `updated_at` (which an annotation's save moves).
   */
  async listChangedTasks(project: number, afterMs: number, pageSize: number, page = 1): Promise<LabelStudioTaskRecord[]> {
    const query = JSON.stringify({
      filters: { conjunction: 'and', items: [{ filter: 'filter:tasks:updated_at', operator: 'greater', type: 'Datetime', value: new Date(afterMs).toISOString() }] },
      ordering: ['tasks:updated_at'],
    });
    // Any JSON may come back (`null` included): what is not a task is skipped.
    const answer = await this.request<unknown>('GET', `/api/tasks?project=${project}&fields=all&page=${page}&page_size=${pageSize}&query=${encodeURIComponent(query)}`);
    const found = typeof answer === 'object' && answer !== null ? (answer as { tasks?: unknown }).tasks : undefined;
    return (Array.isArray(found) ? (found as unknown[]) : []).flatMap((t) => {
      if (typeof t !== 'object' || t === null) return [];
      const task = t as { id?: unknown; updated_at?: unknown; data?: unknown; annotations?: unknown };
      if (typeof task.id !== 'number' || typeof task.updated_at !== 'string') return [];
      const annotations = Array.isArray(task.annotations) ? task.annotations : [];
      return [
        {
          id: task.id,
          updatedAt: task.updated_at,
          data: typeof task.data === 'object' && task.data !== null ? (task.data as Record<string, unknown>) : {},
          annotations: annotations.flatMap((a: unknown) => {
            if (typeof a !== 'object' || a === null) return [];
            const x = a as { id?: unknown; completed_by?: unknown; updated_at?: unknown; was_cancelled?: unknown; result?: unknown };
            if (typeof x.id !== 'number') return [];
            return [
              {
                id: x.id,
                completedBy: typeof x.completed_by === 'number' ? x.completed_by : null,
                updatedAt: typeof x.updated_at === 'string' ? x.updated_at : task.updated_at as string,
                wasCancelled: x.was_cancelled === true,
                // Only objects are results (a `null` entry would stop the reading of the annotation).
                result: Array.isArray(x.result) ? (x.result as unknown[]).filter((r): r is LabelStudioAnnotation['result'][number] => typeof r === 'object' && r !== null) : [],
              },
            ];
          }),
        },
      ];
    });
  }

  /** Adds an annotation choosing `choice` to a task, as a person does in the editor; why: tests and scripted labelling. */
  async annotate(task: number, choice: string, extra: readonly Readonly<Record<string, unknown>>[] = []): Promise<number> {
    const created = await this.request<{ id: number }>('POST', `/api/tasks/${task}/annotations`, {
      result: [{ from_name: 'label', to_name: 'image', type: 'choices', value: { choices: [choice] } }, ...extra],
    });
    return created.id;
  }

  /** The Authorization header, exchanging a personal access token when needed. */
  private async authorization(renew: boolean): Promise<string> {
    if (this.connection.tokenType === 'legacy') return `Token ${this.connection.token}`;
    if (this.access === undefined || renew) {
      const answer = await this.fetch('POST', '/api/token/refresh', { refresh: this.connection.token }, undefined);
      const access = (answer as { access?: unknown }).access;
      if (typeof access !== 'string') throw new CentaurError(this.connection.errorCode ?? 'SINK_WRITE_FAILED', 'Label Studio did not exchange the personal access token for an access token');
      this.access = access;
    }
    return `Bearer ${this.access}`;
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return (await this.fetch(method, path, body, await this.authorization(false))) as T;
    } catch (error) {
      // An expired access token: renew once.
      if (this.connection.tokenType === 'personal' && error instanceof CentaurError && error.message.includes('HTTP 401')) {
        return (await this.fetch(method, path, body, await this.authorization(true))) as T;
      }
      throw error;
    }
  }

  /** The server's address without any user:password part, for messages. */
  private where(): string {
    return displayUrl(this.connection.url);
  }

  /** Text with the tokens (given and exchanged) replaced; why: answers and errors may echo them. */
  private redact(text: string): string {
    let out = text.replaceAll(this.connection.token, '<token>');
    if (this.access !== undefined) out = out.replaceAll(this.access, '<token>');
    return out;
  }

  private async fetch(method: string, path: string, body: unknown, authorization: string | undefined): Promise<unknown> {
    const url = `${this.connection.url.replace(/\/+$/, '')}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(authorization === undefined ? {} : { authorization }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.connection.timeoutMs),
      });
    } catch (error) {
      throw new CentaurError(this.connection.errorCode ?? 'SINK_WRITE_FAILED', `Label Studio at ${this.where()} is unreachable: ${this.redact((error as Error).message)}`, { retriable: true });
    }
    const text = await response.text();
    if (!response.ok) {
      const detail = this.redact(text).slice(0, 200);
      throw new CentaurError(this.connection.errorCode ?? 'SINK_WRITE_FAILED', `Label Studio answered ${method} ${path.split('?')[0] ?? path}: HTTP ${response.status} ${detail}`, { retriable: response.status >= 500 || response.status === 429 });
    }
    try {
      return text.length === 0 ? {} : (JSON.parse(text) as unknown);
    } catch {
      throw new CentaurError(this.connection.errorCode ?? 'SINK_WRITE_FAILED', `Label Studio answered ${method} ${path.split('?')[0] ?? path} with something other than JSON`);
    }
  }
}
