/**
 * The fault suite's scenarios, shared by `npm run faults` (bench/faults.bench.ts) and its CI version
 * (test/integration/faults.test.ts). One production-shaped topology runs as a `centaur run` child:
 * upload events on Kafka → fetch-object (S3) → decode → micro-batch → infer (a KServe v2 server:
 * MLServer) → cache store (Redis) → kafka-sink, dead letters on a Kafka topic. Mid-stream one fault
 * is applied to the services `scripts/services/services.sh` runs (or to `centaur run` itself), and
 * an independent consumer counts what came out: inputs, predictions, duplicates, dead letters, lost
 * (neither predicted nor dead-lettered) and the time from the end of the fault to the next prediction.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Kafka, logLevel } from 'kafkajs';
import type { Admin, Message } from 'kafkajs';
import { generateImages } from '../../src/demo/generate-images.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const ENTRY = path.join(ROOT, 'src/cli/centaur.ts');
const MODEL = path.join(ROOT, 'models/demo');
const SERVICES = path.join(ROOT, 'scripts/services/services.sh');

/** The services' addresses, as `services.sh env` gives them (its defaults when not evaluated). */
export const FAULT_ENV = {
  brokers: process.env.CENTAUR_KAFKA_BROKERS ?? '127.0.0.1:9092',
  s3: process.env.CENTAUR_S3_ENDPOINT ?? 'http://127.0.0.1:9000',
  redis: process.env.CENTAUR_REDIS_URL ?? 'redis://127.0.0.1:6379',
  kserve: process.env.CENTAUR_KSERVE_URL ?? 'http://127.0.0.1:8000',
  servicesHome: process.env.CENTAUR_SERVICES_HOME ?? path.join(homedir(), '.cache/centaur-services'),
};
process.env.AWS_ACCESS_KEY_ID ??= 'centaur';
process.env.AWS_SECRET_ACCESS_KEY ??= 'centaur-secret';
process.env.AWS_REGION ??= 'us-east-1';

/** What a scenario does to the world mid-stream; resolves when the fault is over (the service back). */
export type Fault = (ctx: FaultContext) => Promise<void>;

export interface FaultContext {
  /** Kills `centaur run` with SIGKILL and starts it again. */
  readonly restartRun: () => Promise<void>;
  readonly log: (line: string) => void;
}

export interface Scenario {
  readonly name: string;
  /** Fractions of the stream's progress (0–1) at which the fault is applied, in order. */
  readonly at: readonly number[];
  readonly fault: Fault;
  readonly exactlyOnce?: boolean;
}

export interface ScenarioResult {
  readonly scenario: string;
  readonly client: string;
  readonly inputs: number;
  /** Distinct inputs predicted. */
  readonly predicted: number;
  /** Prediction records beyond the first per input. */
  readonly duplicates: number;
  readonly deadLetters: number;
  /** Dead letters by error code. */
  readonly deadLetterCodes: Record<string, number>;
  /** Inputs neither predicted nor dead-lettered. */
  readonly lost: number;
  /** Per fault: seconds from the fault's end (service healthy again) to the next prediction appended. */
  readonly recoverySeconds: number[];
  /** Longest time with no prediction appended, in seconds. */
  readonly longestStallSeconds: number;
  readonly seconds: number;
  /** The runs' log (warnings and errors of every start). */
  readonly logFile: string;
}

/** The PID of a service `services.sh` runs, from its pid file. */
async function servicePid(name: string): Promise<number> {
  return Number((await readFile(path.join(FAULT_ENV.servicesHome, 'run', `${name}.pid`), 'utf8')).trim());
}

/** Starts services (idempotent) and waits until they are healthy. */
export async function servicesUp(...names: string[]): Promise<void> {
  await run('bash', [SERVICES, 'up', ...names], { maxBuffer: 16 << 20 });
}

async function servicesDown(...names: string[]): Promise<void> {
  await run('bash', [SERVICES, 'down', ...names], { maxBuffer: 16 << 20 });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until process `pid` has exited (and been reaped): `services.sh up` would take it for running. */
async function gone(pid: number): Promise<void> {
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(20);
  }
}

/** SIGKILL to a service, then `services.sh up` after `downMs` (its start-up time comes on top). */
export function killService(name: string, downMs = 0): Fault {
  return async ({ log }) => {
    const pid = await servicePid(name);
    process.kill(pid, 'SIGKILL');
    log(`${name}: SIGKILL`);
    await gone(pid);
    await sleep(downMs);
    await servicesUp(name);
    log(`${name}: up again`);
  };
}

/** A clean stop of a service (`services.sh down`), `downMs` of absence, then `services.sh up`. */
export function stopService(name: string, downMs: number): Fault {
  return async ({ log }) => {
    await servicesDown(name);
    log(`${name}: stopped`);
    await sleep(downMs);
    await servicesUp(name);
    log(`${name}: up again`);
  };
}

/** SIGKILL to `centaur run` itself, restarted at once. */
export const killRun: Fault = async ({ restartRun }) => restartRun();

/** The stream's inputs: `count` small JPEGs in a new bucket, and one upload event per image. */
export async function uploadEvents(count: number): Promise<{ bucket: string; messages: Message[] }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-faults-'));
  await generateImages({ outDir: dir, count, seed: 8_800_000, width: 96, height: 72, quality: 80 });
  const files: string[] = [];
  for (const folder of ['horses', 'humans']) for (const f of (await readdir(path.join(dir, folder))).sort()) files.push(path.join(dir, folder, f));
  const bucket = `faults-${randomUUID().slice(0, 8)}`;
  const s3 = new S3Client({ endpoint: FAULT_ENV.s3, region: process.env.AWS_REGION, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const messages: Message[] = [];
  for (let i = 0; i < files.length; i += 32) {
    await Promise.all(
      files.slice(i, i + 32).map(async (file, j) => {
        const n = i + j;
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `frames/${n}.jpg`, Body: await readFile(file) }));
        messages[n] = { key: `upload-${n}`, value: JSON.stringify({ uploadId: `upload-${n}`, uri: `s3://${bucket}/frames/${n}.jpg`, uploadTime: Date.now() }) };
      }),
    );
  }
  s3.destroy();
  return { bucket, messages };
}

function topologyYaml(o: { input: string; output: string; dlq: string; group: string; bucket: string; client: string; exactlyOnce: boolean }): string {
  const brokers = `[${JSON.stringify(FAULT_ENV.brokers)}]`;
  const eos = o.exactlyOnce ? `, exactlyOnce: true, transactionIntervalMs: 200, transactionalId: ${o.group}` : '';
  return `version: 1
name: faults
limits: { maxInFlight: 256, commitIntervalMs: 200 }
nodes:
  uploads: { kind: kafka-source, brokers: ${brokers}, client: ${o.client}, topics: [${o.input}], groupId: ${o.group}, sessionTimeoutMs: 6000, value: { format: json }${eos} }
  fetch: { kind: fetch-object, from: [uploads], allow: ["s3://${o.bucket}/frames/"], s3: { endpoint: ${JSON.stringify(FAULT_ENV.s3)}, forcePathStyle: true }, timeoutMs: 2000 }
  lookup: { kind: cache, mode: lookup, from: [fetch], url: ${JSON.stringify(FAULT_ENV.redis)}, namespace: ${o.group}, model: { path: ${JSON.stringify(MODEL)} }, timeoutMs: 300 }
  decode: { kind: decode-image, from: [lookup], size: [224, 224] }
  batch: { kind: micro-batch, from: [decode], maxSize: 16, maxDelayMs: 20 }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(MODEL)} }, backend: { kind: kserve, endpoint: ${JSON.stringify(FAULT_ENV.kserve)}, protocol: http, model: horse-or-human, timeoutMs: 5000 }, includeEmbedding: false }
  store: { kind: cache, mode: store, from: [infer], url: ${JSON.stringify(FAULT_ENV.redis)}, namespace: ${o.group}, ttlSeconds: 600, timeoutMs: 300 }
  out: { kind: kafka-sink, from: [store], brokers: ${brokers}, client: ${o.client}, topic: ${o.output}, value: { format: json }${o.exactlyOnce ? ', exactlyOnce: true' : ''} }
  dlq: { kind: kafka-dead-letter, brokers: ${brokers}, client: ${o.client}, topic: ${o.dlq}, value: { format: json } }
`;
}

/** Records appended to `topic` (committed or not); null while the broker does not answer. */
async function appended(admin: Admin, topic: string): Promise<number | null> {
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  } catch {
    return null;
  }
}

/** The values of `topics` (by topic), read until every input id is in one of them and nothing new came for 2 s (or `timeoutMs`). */
async function readSettled(kafka: Kafka, topics: string[], readCommitted: boolean, expected: number, timeoutMs: number): Promise<Map<string, Buffer[]>> {
  const consumer = kafka.consumer({ groupId: `faults-reader-${randomUUID().slice(0, 8)}`, readUncommitted: !readCommitted, maxWaitTimeInMs: 100 });
  const values = new Map<string, Buffer[]>(topics.map((t) => [t, []]));
  const ids = new Set<string>();
  let lastAt = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      const value = message.value ?? Buffer.alloc(0);
      values.get(topic)?.push(value);
      const id = idOf(value);
      if (id !== undefined) ids.add(id);
      lastAt = Date.now();
    },
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !(ids.size >= expected && Date.now() - lastAt > 2000)) await sleep(200);
  await consumer.disconnect();
  return values;
}

/** The input id of a prediction or dead-letter record (JSON). */
function idOf(value: Buffer): string | undefined {
  try {
    const id = (JSON.parse(value.toString('utf8')) as { id?: unknown }).id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Runs one scenario over `messages`: the topology as a child, the fault(s) mid-stream, then the counts. */
export async function runScenario(
  scenario: Scenario,
  stream: { bucket: string; messages: Message[] },
  options: { client: string; log?: (line: string) => void; timeoutMs?: number },
): Promise<ScenarioResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const kafka = new Kafka({ clientId: 'faults', brokers: FAULT_ENV.brokers.split(','), logLevel: logLevel.NOTHING, retry: { retries: 30, maxRetryTime: 2000 } });
  const admin = kafka.admin();
  await admin.connect();
  const id = randomUUID().slice(0, 8);
  const [input, output, dlq, group] = ['in', 'out', 'dlq', 'group'].map((role) => `faults-${scenario.name}-${role}-${id}`) as [string, string, string, string];
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: input, numPartitions: 4 }, { topic: output, numPartitions: 1 }, { topic: dlq, numPartitions: 1 }] });
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < stream.messages.length; i += 200) await producer.send({ topic: input, acks: -1, messages: stream.messages.slice(i, i + 200) });
  await producer.disconnect();
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-faults-'));
  const file = path.join(dir, 'faults.yaml');
  await writeFile(file, topologyYaml({ input, output, dlq, group, bucket: stream.bucket, client: options.client, exactlyOnce: scenario.exactlyOnce === true }));

  const total = stream.messages.length;
  log(`${scenario.name}: ${total} upload events on ${input}; starting centaur run (log ${path.join(dir, 'run.log')})`);
  const started = Date.now();
  let child: RunChild = startRun(file, path.join(dir, 'run.log'));
  // Progress sampled every 100 ms: the longest stall, and when the next prediction follows each fault.
  let lastCount = 0;
  let lastProgressAt = Date.now();
  let longestStall = 0;
  let sampling = true;
  const progress = (async () => {
    while (sampling) {
      const count = await appended(admin, output);
      const now = Date.now();
      if (count !== null && count > lastCount) {
        longestStall = Math.max(longestStall, now - lastProgressAt);
        lastCount = count;
        lastProgressAt = now;
      }
      await sleep(100);
    }
    longestStall = Math.max(longestStall, Date.now() - lastProgressAt);
  })();
  const recovery: number[] = [];
  const ctx: FaultContext = {
    log: (line) => log(`${scenario.name}: ${line}`),
    restartRun: async () => {
      await stopRun(child, 'SIGKILL');
      child = startRun(file, path.join(dir, 'run.log'));
    },
  };
  const deadline = Date.now() + (options.timeoutMs ?? 600_000);
  for (const fraction of scenario.at) {
    const target = Math.floor(total * fraction);
    while (lastCount < target && Date.now() < deadline) {
      await assertRunning(child, path.join(dir, 'run.log'));
      await sleep(50);
    }
    ctx.log(`fault at ${lastCount} of ${total} predictions`);
    await scenario.fault(ctx);
    const over = Date.now();
    const before = lastCount;
    while (lastCount === before && lastCount < total && Date.now() < deadline) await sleep(50);
    // Nothing left to predict counts as recovered at once; no prediction since the fault, as never.
    if (lastCount === before) recovery.push(lastCount >= total ? 0 : Number.NaN);
    else recovery.push(Math.max(0, lastProgressAt - over) / 1000);
  }
  // Then until every input is settled (predicted or dead-lettered), or the time is up.
  await assertRunning(child, path.join(dir, 'run.log'));
  const settled = await readSettled(kafka, [output, dlq], scenario.exactlyOnce === true, total, Math.max(10_000, deadline - Date.now()));
  await assertRunning(child, path.join(dir, 'run.log'));
  sampling = false;
  await progress;
  const values = settled.get(output) ?? [];
  const dlqValues = settled.get(dlq) ?? [];
  const seconds = (Date.now() - started) / 1000;
  await stopRun(child, 'SIGTERM');

  const ids = values.map((v) => idOf(v) ?? '');
  const distinct = new Set(ids);
  const codes: Record<string, number> = {};
  const dead = new Set<string>();
  for (const v of dlqValues) {
    const letter = JSON.parse(v.toString('utf8')) as { id?: string; error?: { code?: string } };
    const code = letter.error?.code ?? 'unknown';
    codes[code] = (codes[code] ?? 0) + 1;
    if (letter.id !== undefined) dead.add(letter.id);
  }
  const inputIds = stream.messages.map((m) => `upload-${String(m.key).slice('upload-'.length)}`);
  const lost = inputIds.filter((i) => !distinct.has(i) && !dead.has(i)).length;
  await admin.deleteTopics({ topics: [input, output, dlq] }).catch(() => undefined);
  await admin.disconnect();
  return {
    scenario: scenario.name,
    client: options.client,
    inputs: total,
    predicted: distinct.size,
    duplicates: ids.length - distinct.size,
    deadLetters: dlqValues.length,
    deadLetterCodes: codes,
    lost,
    recoverySeconds: recovery,
    longestStallSeconds: longestStall / 1000,
    seconds,
    logFile: path.join(dir, 'run.log'),
  };
}

interface RunChild {
  readonly process: ChildProcess;
  readonly exited: Promise<number | string>;
  /** Set before the suite itself stops the run; an exit without it is a failure of the scenario. */
  stopping: boolean;
  /** The exit of a run that ended on its own (code or signal), else undefined. */
  failed?: number | string;
}

/** Starts `centaur run` on `file`, its log (info and above: start-ups, partition assignments, retries) appended to `logFile`. */
function startRun(file: string, logFile: string): RunChild {
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, 'run', file, '--log-level', 'info', '--no-http'], { stdio: ['ignore', 'ignore', fd] });
  closeSync(fd);
  const run: RunChild = {
    process: child,
    stopping: false,
    exited: new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        if (!run.stopping) run.failed = code ?? signal ?? -1;
        resolve(code ?? signal ?? -1);
      }),
    ),
  };
  return run;
}

/** Stops a run: `signal`, then waits for its exit. */
async function stopRun(run: RunChild, signal: NodeJS.Signals): Promise<void> {
  run.stopping = true;
  run.process.kill(signal);
  await run.exited;
}

/** Throws, with the end of its log, when the run ended on its own. */
async function assertRunning(run: RunChild, logFile: string): Promise<void> {
  if (run.failed === undefined) return;
  const tail = (await readFile(logFile, 'utf8')).split('\n').slice(-20).join('\n');
  throw new Error(`centaur run exited by itself (${String(run.failed)}); the end of ${logFile}:\n${tail}`);
}

/** The result as a markdown table row. */
export function resultRow(r: ScenarioResult): string {
  const codes = Object.entries(r.deadLetterCodes).map(([code, n]) => `${n} ${code}`).join(', ');
  const recovery = r.recoverySeconds.map((s) => (Number.isNaN(s) ? '—' : s.toFixed(1))).join(' / ');
  return `| ${r.scenario} | ${r.client} | ${r.inputs} | ${r.predicted} | ${r.duplicates} | ${r.deadLetters}${codes === '' ? '' : ` (${codes})`} | ${r.lost} | ${recovery} | ${r.longestStallSeconds.toFixed(1)} | ${r.seconds.toFixed(0)} |`;
}

/** The table's header. */
export const RESULT_HEADER =
  '| scenario | client | inputs | predicted | duplicates | dead letters | lost | recovery s (fault over → next prediction) | longest stall s | seconds |\n|---|---|---|---|---|---|---|---|---|---|';
