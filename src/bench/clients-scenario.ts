/**
 * The `clients` scenario of `centaur bench`: the Kafka client libraries side by side on the same
 * frames, in the same run. For each client, interleaved run by run so a noisy moment falls on all
 * alike: the camera pipeline (kafka-source → decode → micro-batch → infer → kafka-sink, as the
 * `kafka` scenario runs it) and a relay of the frames (kafka-source → kafka-sink `record: input`,
 * the client's own cost with nothing else in the way). Each client runs in a process of its own
 * (client-drain-child.ts), as a deployment runs one. The outside reference is the raw copy loop a
 * user would write with Python's confluent-kafka on the same topic. Timed by the broker's append
 * times, as every Kafka scenario is.
 */
import { fork } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { glob } from 'tinyglobby';
import type { KafkaClientName } from '../kafka/client.js';
import { benchImages } from './bench-images.js';
import { BenchKafka } from './bench-kafka.js';
import { summarize } from './figures.js';
import type { Figures } from './figures.js';
import type { ClientDrainAnswer, ClientDrainTask } from './client-drain-child.js';
import { pythonDrain } from './kafka-scenario.js';
import type { KafkaBenchOptions } from './kafka-scenario.js';

/** What to compare: the kafka scenario's options, over several clients. */
export interface ClientsBenchOptions extends Omit<KafkaBenchOptions, 'client'> {
  readonly clients: readonly KafkaClientName[];
}

/** One client's figures. */
export interface ClientRow {
  readonly client: KafkaClientName;
  /** The librdkafka inside it; null for kafkajs. */
  readonly librdkafka: string | null;
  /** Images/s through the camera pipeline. */
  readonly pipeline: Figures;
  /** Frames/s relayed (`record: input`). */
  readonly relay: Figures;
  /** Relay ÷ the Python copy loop, per run (null without Python). */
  readonly relayOverCopyLoop: Figures | null;
  /** Peak RSS of the client's process over its runs. */
  readonly peakRssMiB: number;
}

/** The scenario's result, as `--json` writes it. */
export interface ClientsBenchResult {
  readonly scenario: 'clients';
  readonly images: number;
  readonly runs: number;
  readonly settings: { readonly format: string; readonly partitions: number; readonly decoder: string; readonly batch: number; readonly inferThreads: number };
  /** Best pipeline median first. */
  readonly rows: readonly ClientRow[];
  readonly copyLoop: Figures | null;
  readonly pythonSkipped: string | null;
  /** The client with the best pipeline median; of clients within each other's spread, the better relay. */
  readonly recommended: KafkaClientName;
}

/** The child module next to this one (.ts when run from source, .js when built). */
const CHILD = new URL(`./client-drain-child${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/** Runs one client's drains in a child process; rejects with the child's error. */
async function drainInChild(task: ClientDrainTask): Promise<{ pipeline: number; relay: number; peakRssBytes: number; librdkafka: string | null }> {
  // Structured clone over IPC: a rate that is not finite (too few frames to time) stays what it is instead of becoming null.
  const child = fork(CHILD, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'advanced' });
  const answer = await new Promise<ClientDrainAnswer>((resolve, reject) => {
    child.once('message', (m) => resolve(m as ClientDrainAnswer));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the ${task.options.client} drain exited with ${String(code)} before answering`)));
    child.send(task);
  });
  if ('error' in answer) throw new Error(`${task.options.client}: ${answer.error}`);
  return answer;
}

/** The recommendation: best pipeline median; among those whose spreads overlap the best's, the best relay median. */
export function recommend(rows: readonly Pick<ClientRow, 'client' | 'pipeline' | 'relay'>[]): KafkaClientName {
  const best = [...rows].sort((a, b) => b.pipeline.median - a.pipeline.median)[0];
  if (best === undefined) throw new RangeError('no clients measured');
  const close = rows.filter((r) => r.pipeline.max >= best.pipeline.min);
  return ([...close].sort((a, b) => b.relay.median - a.relay.median)[0] ?? best).client;
}

/** Runs the clients scenario. */
export async function runClientsBench(o: ClientsBenchOptions): Promise<ClientsBenchResult> {
  if (o.clients.length === 0) throw new Error('--clients names no client');
  const versions = new Map<KafkaClientName, string | null>();
  const dir = await benchImages(o.images, o.cacheDir);
  const files = (await glob('**/*.jpg', { cwd: dir, absolute: true })).sort();
  const blobs = await Promise.all(files.map((f) => readFile(f)));
  const n = blobs.length;
  const kafka = await BenchKafka.connect(o.brokers, o.format, o.registry);
  const work = await mkdtemp(path.join(tmpdir(), 'centaur-bench-clients-'));
  const steps = o.runs * (o.clients.length * 2 + 1);
  let step = 0;
  const progress = (): void => o.onProgress?.((step += 1), steps);
  try {
    const input = await kafka.createTopic('frames', o.partitions, false);
    await kafka.produceAll(input, blobs, files, dir);
    const figures = new Map(o.clients.map((c) => [c, { pipeline: [] as number[], relay: [] as number[], rss: 0 }] as const));
    const copy: number[] = [];
    let pythonSkipped: string | null = o.python === undefined ? 'no Python with the bench packages: run bench/setup-python.sh or pass --python' : null;
    for (let run = 0; run < o.runs; run += 1) {
      for (const client of o.clients) {
        const f = figures.get(client) as { pipeline: number[]; relay: number[]; rss: number };
        const { logger: _logger, onProgress: _onProgress, clients: _clients, ...plain } = o;
        const measured = await drainInChild({ options: { ...plain, client }, input, count: n, tag: `${client}-${run}`, work });
        progress();
        progress();
        f.pipeline.push(measured.pipeline);
        f.relay.push(measured.relay);
        f.rss = Math.max(f.rss, measured.peakRssBytes);
        versions.set(client, measured.librdkafka);
      }
      if (pythonSkipped === null) {
        try {
          copy.push(await pythonDrain(kafka, input, n, 'copy', `${run}`, { ...o, client: 'kafkajs' }));
        } catch (error) {
          pythonSkipped = `${o.python ?? ''}: ${((error as Error).message.split('\n').find((l) => /Error|error/.test(l)) ?? (error as Error).message).slice(0, 300)}`;
        }
      }
      progress();
    }
    const hasCopy = pythonSkipped === null && copy.length === o.runs;
    const rows: ClientRow[] = o.clients
      .map((client) => {
        const f = figures.get(client) as { pipeline: number[]; relay: number[]; rss: number };
        return {
          client,
          librdkafka: versions.get(client) ?? null,
          pipeline: summarize(f.pipeline),
          relay: summarize(f.relay),
          relayOverCopyLoop: hasCopy ? summarize(f.relay.map((r, i) => r / (copy[i] as number))) : null,
          peakRssMiB: f.rss / 2 ** 20,
        };
      })
      .sort((a, b) => b.pipeline.median - a.pipeline.median);
    return {
      scenario: 'clients',
      images: n,
      runs: o.runs,
      settings: { format: o.format, partitions: o.partitions, decoder: o.decoder, batch: o.batch, inferThreads: o.inferThreads },
      rows,
      copyLoop: hasCopy ? summarize(copy) : null,
      pythonSkipped: hasCopy ? null : pythonSkipped,
      recommended: recommend(rows),
    };
  } finally {
    await kafka.close().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}
