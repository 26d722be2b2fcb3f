import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTopology } from '../../src/topology/load.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { createLogger } from '../../src/core/logger.js';
import { startHttpServer } from '../../src/http/server.js';
import type { StatusDocument, SummaryEvent } from '../../src/observability/api-types.js';
import { fakeComponents, sleep, useProbe } from '../helpers/fake-components.js';

const logger = createLogger('silent');

function topology(yaml: string): ReturnType<typeof parseTopology> {
  return parseTopology(`version: 1\nname: t\ndeadLetter: dlq\n${yaml}`, '/tmp/centaur-http-test/topo.yaml', { env: {}, components: fakeComponents });
}

/** The value of one sample line of a Prometheus text exposition, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Reads the first `summary` event of an SSE stream. */
async function firstSummary(url: string): Promise<SummaryEvent> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  assert.equal(response.headers.get('content-type'), 'text/event-stream');
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error('stream ended before a summary');
    text += Buffer.from(value).toString();
    const match = /event: summary\ndata: (.*)\n\n/.exec(text);
    if (match !== null) {
      controller.abort();
      return JSON.parse(match[1] as string) as SummaryEvent;
    }
  }
}

test('metrics, status and events describe a run; counts add up; OpenMetrics on request', async () => {
  useProbe('http-counts');
  const t = topology(`nodes:
  src: { kind: counting-source, probe: http-counts, count: 120, emitDelayMs: 5 }
  op: { kind: fail-some, from: [src], every: 6 }
  out: { kind: probe-sink, from: [op], probe: http-counts }
  dlq: { kind: probe-sink, probe: http-counts }
`);
  const runtime = new Runtime(t, { logger });
  const server = await startHttpServer(runtime, { host: '127.0.0.1', port: 0 }, logger);
  try {
    const notStarted = await fetch(`${server.url}/readyz`);
    assert.equal(notStarted.status, 503, 'not ready before the topology starts');
    const run = runtime.run();
    while (runtime.state !== 'running') await sleep(5);
    await sleep(150);

    assert.deepEqual(await (await fetch(`${server.url}/healthz`)).json(), { status: 'alive' });
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true });

    const status = (await (await fetch(`${server.url}/api/status`)).json()) as StatusDocument;
    assert.equal(status.topology, 't');
    assert.equal(status.state, 'running');
    assert.deepEqual(
      status.nodes.map((n) => [n.id, n.role, n.from]),
      [
        ['src', 'source', []],
        ['op', 'operator', ['src']],
        ['out', 'sink', ['op']],
        ['dlq', 'sink', []],
      ],
    );
    assert.ok(status.totals.inputs > 0 && status.totals.inputs < 120, `mid-run inputs: ${status.totals.inputs}`);

    const summary = await firstSummary(`${server.url}/api/events`);
    assert.equal(summary.state, 'running');
    assert.deepEqual(summary.nodes.map((n) => [n.id, n.state]), [['src', 'running'], ['op', 'running'], ['out', 'running'], ['dlq', 'running']]);
    assert.deepEqual(summary.failing, []);
    assert.ok((summary.nodes[0]?.totals.sent ?? 0) > 0);
    assert.ok(summary.totals.inputs > 0);

    const result = await run;
    assert.equal(result.inputs, 120);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const failedAtOp = Math.ceil(120 / 6);
    assert.equal(sample(text, 'centaur_inputs_total{topology="t",node="src"}'), 120);
    assert.equal(sample(text, 'centaur_inputs_completed_total{topology="t",outcome="ok"}'), 120 - failedAtOp);
    assert.equal(sample(text, 'centaur_inputs_completed_total{topology="t",outcome="dead_letter"}'), failedAtOp);
    assert.equal(sample(text, 'centaur_dead_letters_total{topology="t",node="op",reason="IMAGE_DECODE_FAILED"}'), failedAtOp);
    assert.equal(sample(text, 'centaur_node_sent_total{topology="t",node="out",kind="probe-sink"}'), 120 - failedAtOp);
    assert.equal(sample(text, 'centaur_node_failed_total{topology="t",node="op",kind="fail-some"}'), failedAtOp);
    assert.equal(sample(text, 'centaur_node_sent_total{topology="t",node="dlq",kind="probe-sink"}'), failedAtOp, 'the dead-letter node counts what it wrote');
    assert.equal(sample(text, 'centaur_end_to_end_latency_seconds_count{topology="t"}'), 120);
    assert.equal(sample(text, 'centaur_node_processing_seconds_count{topology="t",node="out",kind="probe-sink"}'), 120 - failedAtOp);
    assert.equal(sample(text, 'centaur_in_flight_envelopes{topology="t"}'), 0);
    assert.equal(sample(text, 'centaur_up{topology="t"}'), 0, 'down once the run ended');
    assert.ok((sample(text, 'centaur_source_commits_total{topology="t",node="src",outcome="ok"}') ?? 0) >= 1);
    assert.match(text, /^nodejs_eventloop_lag_seconds /m, 'Node.js default metrics are included');

    const open = await fetch(`${server.url}/metrics`, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
    assert.match(open.headers.get('content-type') ?? '', /^application\/openmetrics-text/);
    const openText = await open.text();
    assert.match(openText, /# TYPE centaur_inputs counter/);
    assert.match(openText, /\n# EOF\n$/);
    const again = await (await fetch(`${server.url}/metrics`)).text();
    assert.equal(sample(again, 'centaur_inputs_total{topology="t",node="src"}'), 120, 'the text format keeps _total after an OpenMetrics render');
  } finally {
    await server.close();
  }
});

test('/readyz answers 503 and names a sink whose writes keep failing', async () => {
  useProbe('http-failing');
  const t = topology(`limits: { drainTimeoutMs: 200 }
nodes:
  src: { kind: counting-source, probe: http-failing, count: 5 }
  out: { kind: probe-sink, from: [src], probe: http-failing, failWith: retriable-always }
  dlq: { kind: probe-sink, probe: http-failing }
`);
  const runtime = new Runtime(t, { logger, sinkWriteAttempts: 100 });
  const server = await startHttpServer(runtime, { host: '127.0.0.1', port: 0 }, logger);
  const run = runtime.run();
  try {
    let body: { ready: boolean; failing?: { part: string; reason: string }[] } = { ready: true };
    for (let i = 0; i < 100 && body.ready; i += 1) {
      await sleep(20);
      const response = await fetch(`${server.url}/readyz`);
      body = (await response.json()) as typeof body;
      if (!body.ready) assert.equal(response.status, 503);
    }
    assert.equal(body.ready, false);
    assert.deepEqual(body.failing?.map((f) => f.part), ['out']);
    assert.match(body.failing?.[0]?.reason ?? '', /the store is down/);
    const status = (await (await fetch(`${server.url}/api/status`)).json()) as StatusDocument;
    assert.equal(status.nodes.find((n) => n.id === 'out')?.state, 'failing');
  } finally {
    runtime.stop();
    await run.catch(() => undefined);
    await server.close();
  }
});

test('a taken address is a configuration error naming the address', async () => {
  useProbe('http-taken');
  const t = topology(`nodes:
  src: { kind: counting-source, probe: http-taken, count: 1 }
  out: { kind: probe-sink, from: [src], probe: http-taken }
  dlq: { kind: probe-sink, probe: http-taken }
`);
  const first = await startHttpServer(new Runtime(t, { logger }), { host: '127.0.0.1', port: 0 }, logger);
  try {
    const port = Number(new URL(first.url).port);
    await assert.rejects(startHttpServer(new Runtime(t, { logger }), { host: '127.0.0.1', port }, logger), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'CONFIG_INVALID');
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      return true;
    });
  } finally {
    await first.close();
  }
});

test('with a token, the API answers 401 without it (and says nothing of the run), the probes and /metrics stay open; malformed and oversized requests are refused', async () => {
  useProbe('http-token');
  const token = 'tok-7f3a9c1e5b2d4f60a8c3';
  const t = topology(`nodes:
  src: { kind: counting-source, probe: http-token, count: 50, emitDelayMs: 5 }
  out: { kind: probe-sink, from: [src], probe: http-token }
  dlq: { kind: probe-sink, probe: http-token }
`);
  const runtime = new Runtime(t, { logger });
  const server = await startHttpServer(runtime, { host: '127.0.0.1', port: 0, token }, logger);
  const run = runtime.run();
  try {
    while (runtime.state !== 'running') await sleep(5);
    for (const open of ['/healthz', '/readyz', '/metrics']) assert.ok([200, 503].includes((await fetch(`${server.url}${open}`)).status), open);
    for (const path of ['/api/status', '/api/history', '/api/events']) {
      const refused = await fetch(`${server.url}${path}`);
      assert.equal(refused.status, 401, path);
      assert.equal(refused.headers.get('www-authenticate'), 'Bearer');
      const body = await refused.text();
      assert.doesNotMatch(body, /counting-source|"topology"|src/, 'nothing of the run');
      assert.equal((await fetch(`${server.url}${path}`, { headers: { authorization: 'Bearer wrong-token-of-some-length' } })).status, 401);
      assert.equal((await fetch(`${server.url}${path}`, { headers: { authorization: `Basic ${token}` } })).status, 401, 'only a bearer token');
    }
    const status = await fetch(`${server.url}/api/status`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(status.status, 200);
    assert.doesNotMatch(await status.text(), new RegExp(token), 'the token is not echoed');
    assert.equal((await fetch(`${server.url}/api/history?token=${token}`)).status, 200, 'the dashboard passes it as ?token=');
    const summary = await firstSummary(`${server.url}/api/events?token=${token}`);
    assert.equal(typeof summary.time, 'number');
    // Read-only: other methods are not routes; a body beyond the limit is refused unread.
    assert.equal((await fetch(`${server.url}/api/status`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status, 404);
    const big = await fetch(`${server.url}/metrics`, { method: 'POST', body: 'x'.repeat(64 * 1024), headers: { 'content-type': 'application/json' } });
    assert.ok([404, 413].includes(big.status), `oversized POST: ${big.status}`);
    const garbage = await fetch(`${server.url}/api/status?token=%E0%A4%A`, {});
    assert.equal(garbage.status, 401, 'a malformed token is just a wrong one');
    assert.deepEqual(await (await fetch(`${server.url}/healthz`)).json(), { status: 'alive' }, 'still serving');
  } finally {
    await run;
    await server.close();
  }
});
