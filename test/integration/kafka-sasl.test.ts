/**
 * Kafka with authentication, as production brokers run it: the real broker's SASL_SSL listener
 * (TLS with a certificate from the services script's test CA, SCRAM-SHA-512), with every client.
 * `centaur run` relays messages through it with credentials from `${ENV}` only; what it writes
 * is read back through the plaintext listener with an independent client. The password's bytes
 * must appear nowhere Centaur writes: its logs (at debug level), `/metrics`, `/api/status`, the
 * outputs and the dead letters.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startCentaur } from '../helpers/centaur-process.js';
import { CLIENTS, consumeUntil, createTopics, produce, requireServices, unique } from '../helpers/kafka.js';

const SASL_BROKERS = process.env.CENTAUR_KAFKA_SASL_SSL_BROKERS ?? '127.0.0.1:9094';
const CA_FILE = process.env.CENTAUR_KAFKA_CA_FILE ?? path.join(process.env.HOME ?? '', '.cache/centaur-services/kafka/tls/ca.pem');
const USERNAME = process.env.CENTAUR_KAFKA_SASL_USERNAME ?? 'centaur-test';
const PASSWORD = process.env.CENTAUR_KAFKA_SASL_PASSWORD ?? 'scram-test-3f9c1e7a5b2d4c6e';

/** Skips (fails under CI=true) when the broker has no SASL_SSL listener or its CA file is missing (e.g. a broker started by docker compose). */
async function requireSaslListener(t: TestContext): Promise<boolean> {
  const [host, port] = SASL_BROKERS.split(',')[0]?.split(':') ?? [];
  const open = await new Promise<boolean>((resolve) => {
    const socket = connect({ host: host ?? '127.0.0.1', port: Number(port) }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
  const problem = !open ? `no SASL_SSL listener at ${SASL_BROKERS}` : !existsSync(CA_FILE) ? `no CA file at ${CA_FILE}` : undefined;
  if (problem === undefined) return true;
  if (process.env.CI === 'true') assert.fail(`${problem}: scripts/services/services.sh up kafka starts it`);
  t.skip(`${problem}: run scripts/services/services.sh up kafka`);
  return false;
}

/** The relay over the authenticated listener; credentials and CA only as `${ENV}` references. */
function topologyYaml(input: string, output: string, dlq: string, client: string): string {
  const connection = `brokers: ["\${KAFKA_SASL_BROKERS}"], client: ${client}, ssl: true, caFile: "\${KAFKA_CA_FILE}", sasl: { mechanism: scram-sha-512, username: "\${KAFKA_USERNAME}", password: "\${KAFKA_PASSWORD}" }`;
  return `version: 1
name: ${unique('sasl')}
limits: { commitIntervalMs: 100 }
nodes:
  in: { kind: kafka-source, ${connection}, topics: [${input}], groupId: ${unique('sasl')}, value: { format: json } }
  out: { kind: kafka-sink, from: [in], ${connection}, topic: ${output}, record: input }
  dlq: { kind: kafka-dead-letter, ${connection}, topic: ${dlq}, value: { format: json } }
`;
}

for (const client of CLIENTS) {
  test(`${client}: SASL_SSL (SCRAM-SHA-512, a private CA) relays every message and dead-letters a bad one; the password appears in no output`, { timeout: 120_000 }, async (t) => {
    if (!(await requireServices(t)) || !(await requireSaslListener(t))) return;
    const input = unique('sasl-in');
    const output = unique('sasl-out');
    const dlq = unique('sasl-dlq');
    await createTopics([input, output, dlq], 2);
    const good = Array.from({ length: 6 }, (_, i) => ({ key: `k-${i}`, value: JSON.stringify({ id: `m-${i}`, uri: `s3://bucket/${i}.jpg` }), headers: { seq: String(i) } }));
    await produce(input, [...good, { key: 'bad', value: '{ not json', headers: { seq: 'bad' } }]);

    const dir = await mkdtemp(path.join(tmpdir(), 'centaur-sasl-'));
    const file = path.join(dir, 'sasl.yaml');
    await writeFile(file, topologyYaml(input, output, dlq, client));
    const centaur = startCentaur(file, { KAFKA_SASL_BROKERS: SASL_BROKERS, KAFKA_CA_FILE: CA_FILE, KAFKA_USERNAME: USERNAME, KAFKA_PASSWORD: PASSWORD }, ['--log-level', 'debug']);
    try {
      const listening = await centaur.waitForLog((l) => l.msg === 'HTTP server listening.', 60_000);
      const relayed = await consumeUntil(output, (m) => m.length >= 6, { timeoutMs: 60_000 });
      assert.deepEqual(relayed.map((m) => m.key).sort(), good.map((m) => m.key).sort(), 'every message went through the authenticated listener');
      const letters = await consumeUntil(dlq, (m) => m.length >= 1, { timeoutMs: 30_000 });
      assert.equal(letters.length, 1);
      const base = listening.url as string;
      const metrics = await (await fetch(new URL('metrics', base))).text();
      const status = await (await fetch(new URL('api/status', base))).text();
      assert.match(metrics, /^centaur_/m);
      centaur.child.kill('SIGTERM');
      assert.equal(await centaur.exited, 0);
      const logs = JSON.stringify(centaur.logs) + centaur.stdout();
      assert.ok(logs.includes('Topology started.'), 'the logs were captured');
      const outputs = [...relayed, ...letters].map((m) => `${m.value?.toString('latin1') ?? ''} ${JSON.stringify(m.headers)}`).join('\n');
      for (const [where, text] of [['logs', logs], ['/metrics', metrics], ['/api/status', status], ['outputs and dead letters', outputs]] as const) {
        assert.ok(!text.includes(PASSWORD), `the password appears in ${where}`);
        assert.ok(!text.includes(Buffer.from(PASSWORD).toString('base64')), `the password (base64) appears in ${where}`);
      }
    } finally {
      centaur.child.kill('SIGKILL');
    }
  });
}

for (const client of CLIENTS) test(`${client}: SASL_SSL with a wrong password: the run stops with an authentication error that does not echo the password`, { timeout: 120_000 }, async (t) => {
  if (!(await requireServices(t)) || !(await requireSaslListener(t))) return;
  const input = unique('sasl-wrong-in');
  await createTopics([input], 1);
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-sasl-'));
  const file = path.join(dir, 'wrong.yaml');
  await writeFile(file, topologyYaml(input, input, input, client));
  const wrong = 'not-the-password-7c1d9e';
  const centaur = startCentaur(file, { KAFKA_SASL_BROKERS: SASL_BROKERS, KAFKA_CA_FILE: CA_FILE, KAFKA_USERNAME: USERNAME, KAFKA_PASSWORD: wrong });
  try {
    // The refusal is reported within seconds (not after the connect's timeout), as a configuration error.
    await centaur.waitForLog((l) => l.msg === 'HTTP server listening.', 30_000);
    const since = Date.now();
    const refused = await centaur.waitForLog((l) => /CONFIG_INVALID: .*(SASL|[Aa]uthenticat)/.test(String(l.msg)), 8_000);
    assert.ok(Date.now() - since < 8_000, JSON.stringify(refused));
    const code = await Promise.race([centaur.exited, new Promise((resolve) => setTimeout(() => resolve('still running after 20 s'), 20_000).unref())]);
    assert.notEqual(code, 0, 'the run failed');
    assert.notEqual(code, 'still running after 20 s');
    const logs = JSON.stringify(centaur.logs) + centaur.stdout();
    assert.ok(!logs.includes(wrong), 'the password is not echoed');
  } finally {
    centaur.child.kill('SIGKILL');
  }
});
