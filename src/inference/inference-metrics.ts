/**
 * What inference reports about itself, declared next to the code that records it: backend calls
 * and their time per image, the model version each `infer` node runs, shadow (candidate) versions'
 * agreement, and the health of the connection to an inference server (docs/METRICS.md).
 */
import { counterFamily, gaugeFamily, histogramFamily, LATENCY_BUCKETS, NO_METRICS } from '../core/metric-family.js';
import type { MetricFamily, NodeCounter, NodeGauge, NodeHistogram, NodeMetrics } from '../core/metric-family.js';

type ModelLabels = 'model' | 'version';
const MODEL: readonly ModelLabels[] = ['model', 'version'];

const batchSeconds = histogramFamily('centaur_inference_batch_seconds', 'One backend call for one batch.', LATENCY_BUCKETS, MODEL);
const imageSeconds = histogramFamily('centaur_inference_image_seconds', "A batch's inference time divided by its size, observed once per batch.", LATENCY_BUCKETS, MODEL);
const images = counterFamily('centaur_inference_images_total', 'Images inferred.', MODEL);
const modelInfo = gaugeFamily('centaur_model_info', 'The model version each infer node runs (value 1).', MODEL);
const shadowPredictions = counterFamily(
  'centaur_shadow_predictions_total',
  "Predictions of a shadow (candidate) version on sampled batches, by outcome against the serving version's top class (agree; disagree; new_class: a class the serving version does not have).",
  ['model', 'version', 'outcome'],
);
const shadowSeconds = histogramFamily('centaur_shadow_inference_batch_seconds', 'One shadow (candidate) backend call for one sampled batch.', LATENCY_BUCKETS, MODEL);
const shadowSkipped = counterFamily('centaur_shadow_skipped_total', 'Sampled batches not shadowed, by reason (busy, failed).', ['reason']);
const shadowVerdicts = counterFamily(
  'centaur_shadow_verdicts_total',
  'Candidate versions judged after their shadow period (`shadow.promote`), by verdict (promoted, rejected).',
  ['model', 'version', 'verdict'],
);
const serverRetries = counterFamily('centaur_inference_server_retries_total', 'Requests to an inference server tried again, by the error of the failed attempt.', ['server', 'code']);
const circuitOpen = gaugeFamily(
  'centaur_inference_server_circuit_open',
  'Whether the circuit breaker towards an inference server is open (1: requests fail fast or wait for a trial call) or closed (0).',
  ['server'],
);

/** Every family an `infer` node records, its backends' included. */
export const INFERENCE_FAMILIES: readonly MetricFamily[] = [batchSeconds, imageSeconds, images, modelInfo, shadowPredictions, shadowSeconds, shadowSkipped, shadowVerdicts, serverRetries, circuitOpen];

/** One infer node's inference figures. */
export class InferenceMetrics {
  private readonly batchSeconds: NodeHistogram<ModelLabels>;
  private readonly imageSeconds: NodeHistogram<ModelLabels>;
  private readonly images: NodeCounter<ModelLabels>;
  private readonly modelInfo: NodeGauge<ModelLabels>;
  private readonly shadowPredictions: NodeCounter<ModelLabels | 'outcome'>;
  private readonly shadowSeconds: NodeHistogram<ModelLabels>;
  private readonly shadowSkipped: NodeCounter<'reason'>;
  private readonly shadowVerdicts: NodeCounter<ModelLabels | 'verdict'>;
  private current: { model: string; version: string } | undefined;

  constructor(metrics: NodeMetrics = NO_METRICS) {
    this.batchSeconds = metrics.histogram(batchSeconds);
    this.imageSeconds = metrics.histogram(imageSeconds);
    this.images = metrics.counter(images);
    this.modelInfo = metrics.gauge(modelInfo);
    this.shadowPredictions = metrics.counter(shadowPredictions);
    this.shadowSeconds = metrics.histogram(shadowSeconds);
    this.shadowSkipped = metrics.counter(shadowSkipped);
    this.shadowVerdicts = metrics.counter(shadowVerdicts);
  }

  /** One backend call ran `count` images of `model`/`version` in `seconds`. */
  inference(model: string, version: string, count: number, seconds: number): void {
    const labels = { model, version };
    this.batchSeconds.observe(labels, seconds);
    if (count > 0) this.imageSeconds.observe(labels, seconds / count);
    this.images.inc(labels, count);
  }

  /** The node now runs this model version (the previous one is no longer reported). */
  modelVersion(model: string, version: string): void {
    if (this.current !== undefined) this.modelInfo.remove(this.current);
    this.current = { model, version };
    this.modelInfo.set(this.current, 1);
  }

  /** A shadow version answered a sampled batch: top-class agreement with the serving version. */
  shadowCompared(model: string, version: string, rows: { readonly agreed: number; readonly disagreed: number; readonly newClass: number }, seconds: number): void {
    this.shadowPredictions.inc({ model, version, outcome: 'agree' }, rows.agreed);
    this.shadowPredictions.inc({ model, version, outcome: 'disagree' }, rows.disagreed);
    if (rows.newClass > 0) this.shadowPredictions.inc({ model, version, outcome: 'new_class' }, rows.newClass);
    this.shadowSeconds.observe({ model, version }, seconds);
  }

  /** A candidate version was judged after its shadow period. */
  shadowVerdict(model: string, version: string, verdict: 'promoted' | 'rejected'): void {
    this.shadowVerdicts.inc({ model, version, verdict });
  }

  /** A sampled batch was not shadowed (candidate busy or failing). */
  shadowSkip(reason: 'busy' | 'failed'): void {
    this.shadowSkipped.inc({ reason });
  }
}

/** What a client of an inference server reports: each retry by error code, and its circuit breaker. */
export class InferenceServerMetrics {
  private readonly retries: NodeCounter<'server' | 'code'>;
  private readonly circuit: NodeGauge<'server'>;

  constructor(
    metrics: NodeMetrics,
    private readonly server: string,
  ) {
    this.retries = metrics.counter(serverRetries);
    this.circuit = metrics.gauge(circuitOpen);
  }

  /** A request failed with `code` and is tried again. */
  retry(code: string): void {
    this.retries.inc({ server: this.server, code });
  }

  /** The circuit breaker opened (true) or closed again (false). */
  circuitChanged(open: boolean): void {
    this.circuit.set({ server: this.server }, open ? 1 : 0);
  }
}
