import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { gaugeFamily } from '../../src/core/metric-family.js';
import type { MetricFamily } from '../../src/core/metric-family.js';
import { DriftMetrics } from '../../src/drift-monitor/drift-metrics.js';
import { InferenceMetrics } from '../../src/inference/inference-metrics.js';
import { CentaurMetrics, STATUS_FAMILIES } from '../../src/observability/metrics.js';
import { allMetricFamilies } from '../../src/topology/registry.js';

function metrics(): CentaurMetrics {
  return new CentaurMetrics('cams', '9.9.9', [{ id: 'in', kind: 'kafka-source', role: 'source', counts: () => ({ received: 0, sent: 7, failed: 1 }) }], {
    inFlight: () => ({ count: 3, bytes: 300, paused: true }),
    ready: () => false,
    running: () => true,
    totals: () => ({ completed: 5, deadLetters: 1, correct: 3, labelled: 4, perClass: new Map([['horse', { labelled: 3, predicted: 2, correct: 2 }], ['other', { labelled: 1, predicted: 0, correct: 0 }]]) }),
  }, allMetricFamilies());
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('runtime figures are read at scrape time', async () => {
  const { body } = await metrics().render(false);
  assert.equal(sample(body, 'centaur_node_sent_total{topology="cams",node="in",kind="kafka-source"}'), 7);
  assert.equal(sample(body, 'centaur_node_failed_total{topology="cams",node="in",kind="kafka-source"}'), 1);
  assert.equal(sample(body, 'centaur_in_flight_envelopes{topology="cams"}'), 3);
  assert.equal(sample(body, 'centaur_in_flight_bytes{topology="cams"}'), 300);
  assert.equal(sample(body, 'centaur_backpressure_paused{topology="cams"}'), 1);
  assert.equal(sample(body, 'centaur_ready{topology="cams"}'), 0);
  assert.equal(sample(body, 'centaur_build_info{version="9.9.9"}'), 1);
  assert.equal(sample(body, 'centaur_inputs_total{topology="cams",node="in"}'), 8, 'inputs = emitted + failed at the source');
  assert.equal(sample(body, 'centaur_inputs_completed_total{topology="cams",outcome="ok"}'), 5);
  assert.equal(sample(body, 'centaur_inputs_completed_total{topology="cams",outcome="dead_letter"}'), 1);
  assert.equal(sample(body, 'centaur_labelled_predictions_total{topology="cams",outcome="wrong"}'), 1);
  assert.equal(sample(body, 'centaur_class_labelled_total{topology="cams",class="horse"}'), 3);
  assert.equal(sample(body, 'centaur_class_predicted_total{topology="cams",class="horse"}'), 2);
  assert.equal(sample(body, 'centaur_class_correct_total{topology="cams",class="horse"}'), 2);
  assert.equal(sample(body, 'centaur_class_labelled_total{topology="cams",class="other"}'), 1);
});

/** A family some component declares, as the registry lists it. */
function declared<F extends MetricFamily['type']>(name: string, type: F): Extract<MetricFamily, { type: F }> {
  const family = allMetricFamilies().find((f) => f.name === name);
  assert.ok(family !== undefined, `a component declares ${name}`);
  assert.equal(family.type, type);
  return family as Extract<MetricFamily, { type: F }>;
}

test('the families the status API reads are declared by components, with the labels it reads', () => {
  assert.deepEqual(declared(STATUS_FAMILIES.modelInfo, 'gauge').labels, ['model', 'version']);
  assert.deepEqual(declared(STATUS_FAMILIES.consumerLag, 'gauge').labels, ['topic', 'partition']);
  assert.deepEqual(declared(STATUS_FAMILIES.batchFill, 'histogram').labels, []);
});

test('every declared family is registered before the first input, and one name has one shape', async () => {
  const m = new CentaurMetrics('cams', '9.9.9', [], { inFlight: () => ({ count: 0, bytes: 0, paused: false }), ready: () => true, running: () => true, totals: () => ({ completed: 0, deadLetters: 0, correct: 0, labelled: 0 }) }, allMetricFamilies());
  const { body } = await m.render(false);
  for (const family of allMetricFamilies()) assert.match(body, new RegExp(`# TYPE ${family.name} ${family.type}`));
  const node = m.forNode('n');
  assert.throws(() => node.gauge(gaugeFamily('centaur_cache_lookups_total', 'the same name as a counter')), /declared twice/);
});

test('batch, inference, model version and lag reports land in their families, and the status API reads them', async () => {
  const m = metrics();
  const batch = m.forNode('batch');
  const fill = batch.histogram(declared(STATUS_FAMILIES.batchFill, 'histogram'));
  fill.observe({}, 0.25);
  fill.observe({}, 1);
  const infer = new InferenceMetrics(m.forNode('infer'));
  infer.modelVersion('hoh', '1');
  infer.inference('hoh', '1', 8, 0.08);
  infer.modelVersion('hoh', '2');
  const lag = m.forNode('in').gauge(declared(STATUS_FAMILIES.consumerLag, 'gauge'));
  lag.set({ topic: 'frames', partition: '0' }, 10);
  lag.set({ topic: 'frames', partition: '1' }, 5);
  assert.equal(m.totalLag(), 15);
  lag.remove({ topic: 'frames', partition: '0' });
  assert.equal(m.totalLag(), 5);
  assert.equal(m.takeBatchFill(), (0.25 + 1) / 2);
  assert.equal(m.takeBatchFill(), null, 'the fill window restarts after each read');
  const { body } = await m.render(false);
  assert.equal(sample(body, 'centaur_batch_fill_ratio_count{topology="cams",node="batch"}'), 2);
  assert.equal(sample(body, 'centaur_batch_fill_ratio_bucket{le="0.3",topology="cams",node="batch"}'), 1);
  assert.equal(sample(body, 'centaur_inference_images_total{topology="cams",node="infer",model="hoh",version="1"}'), 8);
  assert.equal(sample(body, 'centaur_inference_image_seconds_sum{topology="cams",node="infer",model="hoh",version="1"}'), 0.01);
  assert.equal(sample(body, 'centaur_model_info{topology="cams",node="infer",model="hoh",version="2"}'), 1);
  assert.equal(sample(body, 'centaur_model_info{topology="cams",node="infer",model="hoh",version="1"}'), undefined, 'a replaced version is no longer reported');
  assert.equal(sample(body, 'centaur_kafka_consumer_lag{topology="cams",node="in",topic="frames",partition="1"}'), 5);
  assert.equal(sample(body, 'centaur_kafka_consumer_lag{topology="cams",node="in",topic="frames",partition="0"}'), undefined);
  assert.deepEqual(m.modelVersions(), [{ node: 'infer', model: 'hoh', version: '2' }]);
});

test('a drift node publishes its last window for the status API', () => {
  const m = metrics();
  assert.equal(m.driftSummary(), null);
  const drift = new DriftMetrics(m.forNode('drift'), 'drift');
  const figures = { model: 'hoh', version: '1', mode: 'evidently', window: { kind: 'count' as const, start: 0, end: 10 }, inputs: 10, late: 0, instances: 1, columns: [], embedding: null, dataset: { share: 0.6, driftShare: 0.5, drifted: true }, closedAt: 5 };
  drift.window(figures);
  drift.retrainRequest('hoh', '1', 'sent');
  drift.window({ ...figures, dataset: { share: 0, driftShare: 0.5, drifted: false } });
  const nodes = m.driftSummary()?.nodes ?? [];
  assert.deepEqual(nodes.map((n) => [n.node, n.windows, n.driftedWindows, n.retrainRequests, n.datasetDrift]), [['drift', 2, 1, 1, false]]);
});

test('hot-path histograms render cumulative buckets, sum and count', async () => {
  const m = metrics();
  m.inputCompleted(0.004, 0.002);
  m.inputCompleted(0.3, 0.2);
  m.inputCompleted(-1, 20);
  const timer = m.nodeTimer('out', 'kafka-sink');
  timer.observeMany(0.02, 3);
  const { body } = await m.render(false);
  assert.equal(sample(body, 'centaur_end_to_end_latency_seconds_bucket{le="0.005",topology="cams"}'), 1);
  assert.equal(sample(body, 'centaur_end_to_end_latency_seconds_bucket{le="0.5",topology="cams"}'), 2);
  assert.equal(sample(body, 'centaur_end_to_end_latency_seconds_count{topology="cams"}'), 2, 'an event time in the future is not observed');
  assert.equal(sample(body, 'centaur_processing_latency_seconds_bucket{le="10",topology="cams"}'), 2);
  assert.equal(sample(body, 'centaur_processing_latency_seconds_bucket{le="+Inf",topology="cams"}'), 3);
  assert.equal(sample(body, 'centaur_processing_latency_seconds_sum{topology="cams"}'), 20.202);
  assert.equal(sample(body, 'centaur_node_processing_seconds_bucket{le="0.025",topology="cams",node="out",kind="kafka-sink"}'), 3);
  assert.equal(sample(body, 'centaur_node_processing_seconds_bucket{le="0.01",topology="cams",node="out",kind="kafka-sink"}'), 0);
  assert.match(body, /# TYPE centaur_end_to_end_latency_seconds histogram/);
});

test('concurrent text and OpenMetrics renders each keep their own counter naming', async () => {
  const m = metrics();
  const renders = await Promise.all([m.render(true), m.render(false), m.render(true), m.render(false)]);
  for (const [i, r] of renders.entries()) {
    if (i % 2 === 0) {
      assert.match(r.body, /# TYPE centaur_node_sent counter\ncentaur_node_sent_total\{/);
      assert.match(r.body, /# EOF\n$/);
    } else {
      assert.match(r.body, /# TYPE centaur_node_sent_total counter\ncentaur_node_sent_total\{/);
      assert.doesNotMatch(r.body, /# EOF/);
    }
  }
});

test('docs/METRICS.md documents every family a component declares, with its type and labels', async () => {
  const doc = await readFile('docs/METRICS.md', 'utf8');
  for (const family of allMetricFamilies()) {
    const row = doc.split('\n').find((l) => l.startsWith(`| \`${family.name}\` |`));
    assert.ok(row !== undefined, `docs/METRICS.md has a row for ${family.name}`);
    const [, , type = '', labels = ''] = row.split('|').map((c) => c.trim());
    assert.ok(type.startsWith(family.type), `${family.name} is a ${family.type} (doc says ${type})`);
    for (const label of ['topology', 'node', ...family.labels]) assert.ok(labels.includes(`\`${label}\``), `${family.name} names label ${label}`);
  }
});
