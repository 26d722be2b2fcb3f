/**
 * `label-studio-sink`: the inputs a `select-for-labelling` node picked become tasks in a Label
 * Studio project, each with the model's prediction as a pre-annotation (its class and score), so
 * the annotator confirms or corrects. The project is found by title, or created with a choices
 * config of the model's classes plus "other / new class". A task carries the input id (labels come
 * back under it), the uncertainty, the strategy and the model version. Writes are idempotent: a
 * task whose input id is already in the project is not created again. Label Studio unreachable or
 * answering 5xx: the runtime retries the write with backoff, then dead-letters the inputs; the
 * stream goes on. The image is the input's URI as a URL Label Studio opens (http(s) as is, `s3://`
 * and `gs://` for its cloud storages, local files through its local-files serving under
 * `localFilesRoot`) or the bytes inline as a data URL.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { defineSink } from '../core/component.js';
import type { Sink, SinkRejection } from '../core/component.js';
import type { Envelope } from '../core/envelope.js';
import { CentaurError } from '../core/errors.js';
import { LabelStudioClient } from '../labelling/label-studio-client.js';
import type { LabelStudioTask } from '../labelling/label-studio-client.js';

const options = Type.Object(
  {
    url: Type.String({ minLength: 1, description: 'Label Studio\'s address, e.g. `${CENTAUR_LABEL_STUDIO_URL}`.' }),
    token: Type.String({ minLength: 1, description: 'API token; write it as `${ENV_NAME}` so it stays out of the file (it never appears in logs or dead letters).' }),
    tokenType: Type.Union([Type.Literal('personal'), Type.Literal('legacy')], { default: 'personal', description: '`personal`: a personal access token (Label Studio ≥ 1.17\'s default); `legacy`: a legacy API token (the organization must allow them).' }),
    project: Type.Optional(Type.String({ minLength: 1, maxLength: 50, description: 'Project title, found or created (default: the topology name).' })),
    image: Type.Union([Type.Literal('uri'), Type.Literal('inline')], {
      default: 'uri',
      description: '`uri`: the input\'s URI as Label Studio opens it (http(s), `s3://`/`gs://` with a cloud storage connected to the project, local files under `localFilesRoot`); `inline`: the bytes as a data URL (up to `maxInlineBytes`).',
    }),
    localFilesRoot: Type.Optional(Type.String({ minLength: 1, description: '`image: uri`: the folder Label Studio serves local files from (its `LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT`), relative to the topology file; a local image outside it is refused.' })),
    maxInlineBytes: Type.Integer({ minimum: 1, default: 2_097_152, description: '`image: inline`: larger images are refused (dead letters).' }),
    timeoutMs: Type.Integer({ minimum: 1, default: 10_000, description: 'Timeout of each request to Label Studio.' }),
    batchSize: Type.Integer({ minimum: 1, maximum: 500, default: 50, description: 'Tasks imported per request at most.' }),
  },
  { additionalProperties: false },
);
type Options = Static<typeof options>;

/** The image as a URL Label Studio can open (and, for a local file, the storage folder it needs), or a reason it cannot be shown. */
function imageUrl(envelope: Envelope, o: Options, localRoot: string | undefined): { url: string; storage?: string } | CentaurError {
  if (o.image === 'inline') {
    const bytes = envelope.original?.value ?? (envelope.payload.kind === 'bytes' ? envelope.payload.bytes : undefined);
    if (bytes === undefined) return new CentaurError('OUTPUT_ENCODE_FAILED', 'the input has no bytes to show inline');
    if (bytes.length > o.maxInlineBytes) return new CentaurError('OUTPUT_ENCODE_FAILED', `the image is ${bytes.length} bytes, above maxInlineBytes ${o.maxInlineBytes}`);
    const format = envelope.image?.format ?? 'jpeg';
    return { url: `data:image/${format};base64,${bytes.toString('base64')}` };
  }
  // The archived copy when the selection archived one, else the input's own URI.
  const uri = envelope.labelling?.imageUri ?? (envelope.payload.kind === 'reference' ? envelope.payload.uri : envelope.position.uri);
  if (uri === undefined) return new CentaurError('OUTPUT_ENCODE_FAILED', 'the input has no URI to show; use `image: inline`');
  if (/^(https?|s3|gs|azure-blob):\/\//i.test(uri)) return { url: uri };
  let file: string;
  try {
    file = uri.startsWith('file:') ? fileURLToPath(uri) : uri;
  } catch {
    return new CentaurError('OUTPUT_ENCODE_FAILED', 'the input\'s file URI is not a local path');
  }
  if (localRoot === undefined) return new CentaurError('OUTPUT_ENCODE_FAILED', 'a local image needs `localFilesRoot` (the folder Label Studio serves local files from), or `image: inline`');
  const relative = path.relative(localRoot, path.resolve(file));
  if (relative.startsWith('..') || path.isAbsolute(relative)) return new CentaurError('OUTPUT_ENCODE_FAILED', 'the image is outside `localFilesRoot`');
  const parts = relative.split(path.sep);
  if (parts.length < 2) return new CentaurError('OUTPUT_ENCODE_FAILED', 'a local image must be in a folder under `localFilesRoot` (Label Studio serves none from the root itself)');
  return { url: `/data/local-files/?d=${encodeURIComponent(parts.join('/'))}`, storage: path.join(localRoot, parts[0]!) };
}

/** Creates Label Studio tasks for the inputs picked for labelling. */
export const labelStudioSink = defineSink({
  kind: 'label-studio-sink',
  role: 'sink',
  description: 'Creates a Label Studio task with the model\'s prediction as a pre-annotation for each input a select-for-labelling node picked (idempotent per input id).',
  stability: 'experimental',
  options,
  examples: [
    { title: 'Tasks in a project, images inline', options: { url: '${CENTAUR_LABEL_STUDIO_URL}', token: '${CENTAUR_LABEL_STUDIO_TOKEN}', tokenType: 'legacy', project: 'centaur-examples', image: 'inline' } },
  ],
  validate: (o) =>
    o.image === 'inline' && o.localFilesRoot !== undefined
      ? [{ path: ['localFilesRoot'], message: '`localFilesRoot` applies to `image: uri`; with `image: inline` the bytes go in the task', suggestion: 'remove `localFilesRoot`, or set `image: uri`' }]
      : [],
  create: (o, ctx): Sink => {
    const client = new LabelStudioClient({ url: o.url, token: o.token, tokenType: o.tokenType, timeoutMs: o.timeoutMs });
    const title = o.project ?? ctx.topologyName.slice(0, 50);
    const localRoot = o.localFilesRoot === undefined ? undefined : path.resolve(ctx.baseDir, o.localFilesRoot);
    let project: number | undefined;
    const storages = new Set<string>();
    return {
      batching: { maxSize: o.batchSize, maxDelayMs: 1000 },
      async write(envelopes: readonly Envelope[]): Promise<readonly SinkRejection[]> {
        const rejections: SinkRejection[] = [];
        const tasks: LabelStudioTask[] = [];
        for (const envelope of envelopes) {
          const p = envelope.prediction;
          const mark = envelope.labelling;
          const model = envelope.model;
          if (p === undefined || mark === undefined || model === undefined) {
            rejections.push({ envelope, error: new CentaurError('OUTPUT_ENCODE_FAILED', 'the input was not picked for labelling; put a `select-for-labelling` node before this sink') });
            continue;
          }
          const image = imageUrl(envelope, o, localRoot);
          if (image instanceof CentaurError) {
            rejections.push({ envelope, error: image });
            continue;
          }
          project ??= await client.ensureProject(title, model.classes ?? [p.label]);
          if (image.storage !== undefined && !storages.has(image.storage)) {
            await client.ensureLocalStorage(project, image.storage);
            storages.add(image.storage);
          }
          if ((await client.findTask(project, envelope.id)) !== undefined) continue;
          tasks.push({
            data: { image: image.url, inputId: envelope.id, ...(envelope.key === undefined ? {} : { key: envelope.key }), predicted: p.label, uncertainty: mark.uncertainty, method: mark.method, strategy: mark.strategy, window: mark.window, model: `${model.name}@${model.version}` },
            prediction: { modelVersion: `${model.name}@${model.version}`, score: p.confidence, choice: p.label },
          });
        }
        if (project !== undefined) await client.importTasks(project, tasks);
        return rejections;
      },
      flush: async () => undefined,
      close: async () => undefined,
    };
  },
});
