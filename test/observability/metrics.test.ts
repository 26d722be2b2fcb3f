import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CentaurMetrics } from '../../src/observability/metrics.js';

function metrics(): CentaurMetrics {
  return new CentaurMetrics('cams', '9.9.9', [{ id: 'in', kind: 'kafka-source', role: 'source', counts: () => ({ received: 0, sent: 7, failed: 1 }) }], {
    inFlight: () => ({ count: 3, bytes: 300, paused: true }),
    ready: () => false,
    running: () => true,
    totals: () => ({ completed: 5, deadLetters: 1, correct: 3, labelled: 4 }),
  });
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
});

test('batch, inference, model version and lag reports land in their families', async () => {
  const m = metrics();
  const node = m.forNode('batch');
  node.batch(8, 32, 0.012);
  node.batch(32, 32, 0.002);
  const infer = m.forNode('infer');
  infer.modelVersion('hoh', '1');
  infer.inference('hoh', '1', 8, 0.08);
  infer.modelVersion('hoh', '2');
  const src = m.forNode('in');
  src.consumerLag('frames', 0, 10);
  src.consumerLag('frames', 1, 5);
  assert.equal(m.totalLag(), 15);
  src.forgetPartition('frames', 0);
  assert.equal(m.totalLag(), 5);
  assert.equal(m.takeBatchFill(), (0.25 + 1) / 2);
  assert.equal(m.takeBatchFill(), null, 'the fill window restarts after each read');
  const { body } = await m.render(false);
  assert.equal(sample(body, 'centaur_batch_size_count{topology="cams",node="batch"}'), 2);
  assert.equal(sample(body, 'centaur_batch_size_sum{topology="cams",node="batch"}'), 40);
  assert.equal(sample(body, 'centaur_batch_fill_ratio_bucket{le="0.3",topology="cams",node="batch"}'), 1);
  assert.equal(sample(body, 'centaur_inference_images_total{topology="cams",node="infer",model="hoh",version="1"}'), 8);
  assert.equal(sample(body, 'centaur_inference_image_seconds_sum{topology="cams",node="infer",model="hoh",version="1"}'), 0.01);
  assert.equal(sample(body, 'centaur_model_info{topology="cams",node="infer",model="hoh",version="2"}'), 1);
  assert.equal(sample(body, 'centaur_model_info{topology="cams",node="infer",model="hoh",version="1"}'), undefined, 'a replaced version is no longer reported');
  assert.equal(sample(body, 'centaur_kafka_consumer_lag{topology="cams",node="in",topic="frames",partition="1"}'), 5);
  assert.equal(sample(body, 'centaur_kafka_consumer_lag{topology="cams",node="in",topic="frames",partition="0"}'), undefined);
  assert.deepEqual(m.modelVersions(), [{ node: 'infer', model: 'hoh', version: '2' }]);
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
