/**
 * `label-studio-source`: the annotations people make in a Label Studio project, as label events
 * for `training-set-sink`. It polls the project's tasks changed since the last poll (Label Studio
 * moves a task's `updated_at` when an annotation is saved or edited), oldest change first, and
 * emits one label event per annotation (cancelled ones skipped): the input id and the selection
 * strategy from the task's data (as `label-studio-sink` wrote them), the chosen class (or the typed
 * name of a new class), the annotator's user id and the annotation's time. An annotation without
 * a choice is a `LABEL_INVALID` dead letter.
 *
 * Polling rather than webhooks: nothing has to reach Centaur from Label Studio, and annotations
 * made while Centaur was stopped are read when it starts. Annotations are keyed by their task's
 * change time, task id and annotation id; with `watermark`, the key of the last label event done
 * (acknowledged by the sinks) is kept in a small object, so a restart reads on from there. Without
 * it a restart reads the project from the start, which `training-set-sink` applies as repeats.
 * A deleted annotation is not taken back out of the training set.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { defineSource } from '../core/component.js';
import type { Source, SourceContext } from '../core/component.js';
import type { EnvelopeInit } from '../core/envelope.js';
import { CentaurError, toCentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { PauseGate } from '../core/pause-gate.js';
import { labelFromLabelStudio } from '../labelling/label-event.js';
import { LabelStudioClient } from '../labelling/label-studio-client.js';
import type { LabelStudioAnnotation, LabelStudioTaskRecord } from '../labelling/label-studio-client.js';
import { locationToUri } from '../storage/object-uri.js';
import { KeyLedger, WatermarkFile, watermarkOption } from '../storage/object-watermark.js';
import { objectUriProblems } from '../storage/store-options.js';
import { storeFor } from '../storage/store-for.js';

const options = Type.Object(
  {
    url: Type.String({ minLength: 1, description: 'Label Studio\'s address, e.g. `${CENTAUR_LABEL_STUDIO_URL}`.' }),
    token: Type.String({ minLength: 1, description: 'API token; write it as `${ENV_NAME}` so it stays out of the file (it never appears in logs or dead letters).' }),
    tokenType: Type.Union([Type.Literal('personal'), Type.Literal('legacy')], { default: 'personal', description: '`personal`: a personal access token; `legacy`: a legacy API token.' }),
    project: Type.String({ minLength: 1, maxLength: 50, description: 'Title of the project to read (the one `label-studio-sink` fills; by default it is named after the serving topology). Until it exists the source waits.' }),
    pollIntervalMs: Type.Integer({ minimum: 100, default: 5000, description: 'Time between two polls once the changes are read.' }),
    pageSize: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Tasks read per request.' }),
    timeoutMs: Type.Integer({ minimum: 1, default: 10_000, description: 'Timeout of each request to Label Studio.' }),
    watermark: watermarkOption('Keep the last annotation done, so a restart reads on from it.'),
  },
  { additionalProperties: false },
);
type Options = Static<typeof options>;

/** Reads a Label Studio project's annotations as label events. */
export const labelStudioSource = defineSource({
  kind: 'label-studio-source',
  role: 'source',
  description: 'Polls a Label Studio project for new and changed annotations and emits each as a label event for `training-set-sink`.',
  stability: 'experimental',
  options,
  examples: [
    {
      title: 'Annotations of the labelling project, resuming after the last one done',
      options: { url: '${CENTAUR_LABEL_STUDIO_URL}', token: '${CENTAUR_LABEL_STUDIO_TOKEN}', project: 'cameras', watermark: { uri: 'state/labels.watermark.json' } },
    },
  ],
  claims: (o, baseDir) => (o.watermark === undefined ? [] : [`watermark ${locationToUri(o.watermark.uri, baseDir)}`]),
  validate: (o, ctx) => (o.watermark === undefined ? [] : objectUriProblems(['watermark', 'uri'], locationToUri(o.watermark.uri, ctx.baseDir))),
  create: async (o, ctx): Promise<Source> => {
    const client = new LabelStudioClient({ url: o.url, token: o.token, tokenType: o.tokenType, timeoutMs: o.timeoutMs, errorCode: 'LABEL_STUDIO_UNAVAILABLE' });
    let watermark: WatermarkFile | undefined;
    let start: string | undefined;
    if (o.watermark !== undefined) {
      const uri = locationToUri(o.watermark.uri, ctx.baseDir);
      watermark = new WatermarkFile(await storeFor(uri), { uri, prefix: `label-studio:${o.project}`, intervalMs: o.watermark.intervalMs });
      start = await watermark.load();
    }
    return new LabelStudioSource(o, client, watermark, start, ctx.nodeId, ctx.logger);
  },
});

/** The partition of every event: the project. */
const PARTITION = 'project';

/** A sortable key of a task: its change time (ISO 8601 to the microsecond) and id; undefined when the time is not one. */
export function taskKey(task: LabelStudioTaskRecord): string | undefined {
  const time = sortableTime(task.updatedAt);
  return time === undefined ? undefined : `${time}#${String(task.id).padStart(12, '0')}`;
}

/** An ISO 8601 UTC time with its fraction padded to microseconds, so that keys sort as times do. */
function sortableTime(iso: string): string | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?Z$/.exec(iso);
  if (m !== null) return `${m[1]}.${(m[2] ?? '').padEnd(6, '0')}Z`;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) && ms >= 0 ? new Date(ms).toISOString().replace('Z', '000Z') : undefined;
}

/** Milliseconds since the epoch of a key's time (0 for a key without one). */
function keyTime(key: string): number {
  const ms = Date.parse(key.slice(0, key.indexOf('#')).replace(/(\.\d{3})\d*Z$/, '$1Z'));
  return Number.isFinite(ms) ? ms : 0;
}

class LabelStudioSource implements Source {
  private readonly ledger: KeyLedger;
  private readonly gate = new PauseGate();
  /** The key of the last annotation read: annotations at or before it are not emitted again. */
  private cursor: string | undefined;
  /** The key of the last task read, annotated or not: the next poll reads the tasks changed after it. */
  private taskCursor: string | undefined;
  private project: number | undefined;
  private failure: string | null = null;

  constructor(
    private readonly o: Options,
    private readonly client: LabelStudioClient,
    private readonly watermark: WatermarkFile | undefined,
    start: string | undefined,
    private readonly nodeId: string,
    private readonly logger: Logger,
  ) {
    this.ledger = new KeyLedger(start);
    this.cursor = start;
    this.taskCursor = start;
  }

  async start(ctx: SourceContext): Promise<void> {
    while (!this.gate.stopped) {
      let more = false;
      try {
        const outcome = await this.poll(ctx);
        more = outcome.more;
        this.failure = outcome.problem;
      } catch (error) {
        const e = toCentaurError(error, 'LABEL_STUDIO_UNAVAILABLE');
        this.failure = `reading Label Studio failed: ${e.message}`;
        this.logger.warn({ node: this.nodeId, code: e.code, error: e.message }, 'Reading Label Studio failed; trying again at the next poll.');
      }
      if (this.gate.stopped) return;
      if (!more) await this.gate.sleep(this.o.pollIntervalMs);
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
    if (partition !== PARTITION) return;
    const key = this.ledger.commit(offset);
    if (key !== undefined) await this.watermark?.update(key);
  }

  async close(): Promise<void> {
    await this.watermark?.flush();
  }

  health(): string | null {
    return this.failure ?? (this.watermark?.lastFailure?.message ?? null);
  }

  /**
   * Reads the tasks changed after the task cursor, page by page, and emits their new annotations
   * in key order; `more` when a full page moved the cursor (the next poll goes on at once).
   */
  private async poll(ctx: SourceContext): Promise<{ more: boolean; problem: string | null }> {
    if (this.project === undefined) {
      this.project = await this.client.findProject(this.o.project);
      if (this.project === undefined) return { more: false, problem: `Label Studio has no project \`${this.o.project}\` yet` };
    }
    // A millisecond before the cursor: tasks changed within its millisecond come again and are skipped by key.
    const after = this.taskCursor === undefined ? 0 : Math.max(0, keyTime(this.taskCursor) - 1);
    for (let page = 1; ; page++) {
      let tasks: LabelStudioTaskRecord[];
      try {
        tasks = await this.client.listChangedTasks(this.project, after, this.o.pageSize, page);
      } catch (error) {
        // The page after an exactly full one does not exist.
        if (page > 1 && error instanceof CentaurError && error.message.includes('HTTP 404')) return { more: false, problem: null };
        throw error;
      }
      const keyed = tasks.flatMap((task) => {
        const key = taskKey(task);
        if (key === undefined) this.logger.warn({ node: this.nodeId, task: task.id }, 'A Label Studio task without a valid updated_at was skipped.');
        return key === undefined ? [] : [{ task, key }];
      });
      keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      for (const { task, key } of keyed) {
        if (this.taskCursor === undefined || key > this.taskCursor) this.taskCursor = key;
        for (const annotation of [...task.annotations].sort((a, b) => a.id - b.id)) {
          if (annotation.wasCancelled) continue;
          const annotationKey = `${key}#${String(annotation.id).padStart(12, '0')}`;
          if (this.cursor !== undefined && annotationKey <= this.cursor) continue;
          this.cursor = annotationKey;
          await this.gate.whilePaused();
          if (this.gate.stopped) return { more: false, problem: null };
          this.emit(ctx, task, annotation, annotationKey);
        }
      }
      if (tasks.length < this.o.pageSize) return { more: false, problem: null };
      // A full page that moved the cursor past the millisecond read from: query again from there.
      if (this.taskCursor !== undefined && keyTime(this.taskCursor) - 1 > after) return { more: true, problem: null };
      // A full page within one millisecond: the next page of the same query.
    }
  }

  private emit(ctx: SourceContext, task: LabelStudioTaskRecord, annotation: LabelStudioAnnotation, key: string): void {
    const value = Buffer.from(JSON.stringify({ task: task.id, annotation: annotation.id, data: task.data, result: annotation.result }));
    const base: EnvelopeInit = {
      // Until the task's data is checked, the event is named by the task.
      id: `label-studio-task-${task.id}`,
      eventTime: Date.now(),
      position: { source: this.nodeId, partition: PARTITION, offset: this.ledger.assign(key) },
      payload: { kind: 'bytes', bytes: value },
      sizeBytes: value.length,
      metadata: { labelStudioTask: String(task.id), labelStudioAnnotation: String(annotation.id) },
      original: { key: null, value },
    };
    let event;
    try {
      event = labelFromLabelStudio(task, annotation);
    } catch (error) {
      ctx.fail(base, error instanceof CentaurError ? error : toCentaurError(error, 'LABEL_INVALID'));
      return;
    }
    ctx.emit({ ...base, id: event.inputId, eventTime: event.annotation.labelTime, annotation: event.annotation });
  }
}
