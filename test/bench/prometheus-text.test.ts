/** The harness's reading of a Prometheus text exposition. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePrometheusText, sumOf } from '../../src/bench/prometheus-text.js';

const TEXT = `# HELP process_open_fds Number of open file descriptors.
# TYPE process_open_fds gauge
process_open_fds 41

nodejs_eventloop_lag_p99_seconds 0.252051455
nodejs_active_handles{type="Socket"} 3
nodejs_active_handles{type="Server"} 1
nodejs_active_handles_total 4
centaur_inputs_completed_total{topology="soak",outcome="ok"} 200
centaur_inputs_completed_total{topology="soak",outcome="dead_letter"} 2
centaur_kafka_consumer_lag{topology="soak",node="frames",topic="t",partition="0"} 5
centaur_kafka_consumer_lag{topology="soak",node="frames",topic="t",partition="1"} 7
weird{label="a \\"quoted\\" value"} +Inf
`;

test('samples with and without labels, summed by name and by label match', () => {
  const samples = parsePrometheusText(TEXT);
  assert.equal(sumOf(samples, 'process_open_fds'), 41);
  assert.equal(sumOf(samples, 'nodejs_eventloop_lag_p99_seconds'), 0.252051455);
  assert.equal(sumOf(samples, 'nodejs_active_handles'), 4);
  assert.equal(sumOf(samples, 'centaur_inputs_completed_total', { outcome: 'ok' }), 200);
  assert.equal(sumOf(samples, 'centaur_inputs_completed_total'), 202);
  assert.equal(sumOf(samples, 'centaur_kafka_consumer_lag'), 12);
  assert.equal(sumOf(samples, 'centaur_kafka_consumer_lag', { partition: '1' }), 7);
});

test('a family that is not there is NaN, not 0; label values with quotes and infinities are read', () => {
  const samples = parsePrometheusText(TEXT);
  assert.ok(Number.isNaN(sumOf(samples, 'nodejs_missing')));
  assert.ok(Number.isNaN(sumOf(samples, 'centaur_inputs_completed_total', { outcome: 'other' })));
  const weird = samples.find((s) => s.name === 'weird');
  assert.equal(weird?.labels.label, 'a "quoted" value');
  assert.equal(weird?.value, Number.POSITIVE_INFINITY);
});
