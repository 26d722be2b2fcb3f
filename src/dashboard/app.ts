/**
 * The dashboard's entry point: wires the event stream and the status polling to the views.
 * Summaries (one a second) drive the numbers and charts; status snapshots drive the graph's shape,
 * node states, failure counts and the failing readiness checks.
 */
import { AccuracyPanel } from './accuracy-panel.js';
import { LabelsPanel } from './labels-panel.js';
import { EVENTS_URL, fetchHistory } from './api-client.js';
import { byId } from './dom.js';
import { DriftPanel } from './drift-panel.js';
import { GraphView } from './graph-view.js';
import { HeaderView } from './header-view.js';
import { HeadlineView } from './headline-view.js';
import { formatBytes, formatCount, formatPercent, formatRate, formatSeconds } from './lib/format.js';
import { SampleHistory, sampleOf, WINDOW_SECONDS } from './lib/sample-history.js';
import { LiveConnection } from './live-connection.js';
import { ModelPanel } from './model-panel.js';
import { StatusPoller } from './status-poller.js';
import { TimeChart } from './time-chart.js';
import type { ChartSpec } from './time-chart.js';
import type { HistoryPoint, StatusSnapshot, Summary } from './lib/api-types.js';

const CHARTS: readonly ChartSpec[] = [
  {
    id: 'throughput',
    title: 'Throughput (per second)',
    series: [
      { key: 'inputs', label: 'inputs', color: '#5b9cf5' },
      { key: 'completed', label: 'completed', color: '#3fc28a' },
    ],
    format: formatRate,
    emptyNote: 'No throughput reported yet.',
  },
  {
    id: 'latency',
    title: 'Latency',
    series: [
      { key: 'p50', label: 'p50', color: '#3fc28a' },
      { key: 'p95', label: 'p95', color: '#e8b44c' },
      { key: 'p99', label: 'p99', color: '#e8615a' },
    ],
    format: formatSeconds,
    emptyNote: 'Latency appears when inputs finish.',
  },
  {
    id: 'batch-fill',
    title: 'Batch fill',
    series: [{ key: 'batchFill', label: 'mean fill', color: '#a57cf0' }],
    format: formatPercent,
    yMax: 1,
    emptyNote: 'Batch fill appears when the topology has a micro-batch node and batches close.',
  },
  {
    id: 'lag',
    title: 'Kafka consumer lag',
    series: [{ key: 'lag', label: 'lag (messages)', color: '#4cc3d9' }],
    format: formatCount,
    integer: true,
    emptyNote: 'Lag appears when the topology has a Kafka source.',
  },
  {
    id: 'dead-letters',
    title: 'Dead letters (per second)',
    series: [{ key: 'deadLetters', label: 'dead letters', color: '#e8615a' }],
    format: formatRate,
    emptyNote: 'No dead-letter rate reported yet.',
  },
  {
    id: 'cpu',
    title: 'CPU (cores busy)',
    series: [{ key: 'cpu', label: 'process', color: '#e8b44c' }],
    format: (v) => v.toFixed(2),
    emptyNote: 'CPU appears after the first second.',
  },
  {
    id: 'memory',
    title: 'Memory',
    series: [
      { key: 'rss', label: 'resident', color: '#5b9cf5' },
      { key: 'heap', label: 'JS heap', color: '#a57cf0' },
    ],
    format: formatBytes,
    emptyNote: 'Memory appears after the first second.',
  },
  {
    id: 'event-loop',
    title: 'Event-loop delay (p99)',
    series: [{ key: 'loopDelay', label: 'p99', color: '#e8615a' }],
    format: formatSeconds,
    emptyNote: 'Event-loop delay appears after the first second.',
  },
  {
    id: 'gpu',
    title: 'GPU utilisation',
    series: [{ key: 'gpuUtilization', label: 'mean of the GPUs', color: '#3fc28a' }],
    format: formatPercent,
    yMax: 1,
    emptyNote: 'No GPU is visible.',
    hiddenWhenEmpty: true,
  },
  {
    id: 'gpu-memory',
    title: 'GPU memory used',
    series: [{ key: 'gpuMemory', label: 'all GPUs', color: '#5b9cf5' }],
    format: formatBytes,
    emptyNote: 'No GPU is visible.',
    hiddenWhenEmpty: true,
  },
];

/** Builds the views and starts the live updates. */
function start(): void {
  const header = new HeaderView();
  const headline = new HeadlineView(byId('headline'));
  const graph = new GraphView(byId('graph'));
  const history = new SampleHistory(WINDOW_SECONDS);
  const charts = CHARTS.map((spec) => new TimeChart(byId('charts'), spec, WINDOW_SECONDS));
  const panels = byId('panels');
  const model = new ModelPanel(panels);
  const accuracy = new AccuracyPanel(panels);
  const labels = new LabelsPanel(panels);
  const drift = new DriftPanel(panels);
  let instance: string | undefined;
  let lastReady: boolean | undefined;
  const addHistory = (points: readonly HistoryPoint[]): void => {
    for (const point of points) history.add(sampleOf(point));
    for (const chart of charts) chart.update(history);
  };

  const onStatus = (status: StatusSnapshot): void => {
    // A different process behind the same address (a restart): its history starts afresh.
    const identity = `${status.instance.pid}@${status.instance.hostname}/${status.startedAt}`;
    if (instance !== undefined && identity !== instance) {
      history.clear();
      void fetchHistory().then(addHistory, () => undefined);
    }
    instance = identity;
    header.updateStatus(status);
    graph.setTopology(status.nodes);
    graph.updateStatus(status.nodes);
    headline.updateReadiness(status.ready);
  };
  const poller = new StatusPoller(onStatus);

  const onSummary = (summary: Summary): void => {
    history.add(sampleOf(summary));
    headline.update(summary);
    graph.updateRates(summary.nodes);
    for (const chart of charts) chart.update(history);
    model.update(summary.models, summary.totals.predictions);
    accuracy.update(summary.accuracy);
    labels.update(summary.labels);
    drift.update(summary.drift);
    if (lastReady !== undefined && summary.ready !== lastReady) poller.poll();
    lastReady = summary.ready;
  };

  const live = new LiveConnection(EVENTS_URL, {
    summary: onSummary,
    // The last minutes, sent when the stream opens: the charts are full after a reload.
    history: addHistory,
    state: (state, retryInMs) => {
      header.updateConnection(state, retryInMs);
      if (state === 'connected') poller.start();
      if (state === 'disconnected') poller.stop();
    },
  });
  live.start();
}

start();
