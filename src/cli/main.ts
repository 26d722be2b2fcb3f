/** The `centaur` command line: run, validate, schema, components, generate-images, publish-images, create-topics, models, drift. */
import { KAFKA_CLIENTS } from '../kafka/client.js';
import type { KafkaClientName } from '../kafka/client.js';
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, CentaurError, formatIssue } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { allComponents } from '../topology/registry.js';
import { topologyJsonSchema } from '../topology/schema.js';
import { loadTopologyFile } from '../topology/load.js';
import { componentsMarkdown, componentsText, optionRows } from '../reference/component-docs.js';
import type { ModelRegistryApi } from '../registry/model-registry.js';
import type { ExportTritonFlags } from './export-triton.js';
import type { DriftProfileFlags } from './drift-profile.js';
import type { DriftCompareFlags } from './drift-compare.js';
import type { BenchFlags } from './bench.js';
import type { TrainFlags } from './train.js';

/** Exit codes: 0 ok, 1 runtime failure, 2 invalid input or config. */
export const EXIT = { ok: 0, runtime: 1, invalid: 2 } as const;

/** Where the CLI writes; tests capture it. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

/** Parses argv (without node and script) and runs the command; resolves with the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let code: number = EXIT.ok;
  const program = new Command()
    .name('centaur')
    .description('Centaur: a stream-processing dataflow engine that runs image classifiers.')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError();

  program
    .command('run')
    .description('Run a topology until its sources end (or until SIGINT/SIGTERM), then print a summary.')
    .argument('<topology>', 'topology file (YAML or JSON)')
    .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default(process.env.CENTAUR_LOG_LEVEL ?? 'warn'))
    .option('--json', 'print the summary as JSON')
    .option('--http <address>', "serve metrics, health, status API and dashboard on host:port (port 0: a free one); overrides the topology's `http` block")
    .option('--no-http', 'do not serve HTTP')
    .action(async (file: string, opts: RunOptions) => {
      code = await runCommand(file, opts, io);
    });

  program
    .command('validate')
    .description('Check topology files and report every problem with file:line:column, node and a suggested fix.')
    .argument('<topology...>', 'topology files')
    .action(async (files: string[]) => {
      code = await validateCommand(files, io);
    });

  program
    .command('schema')
    .description('Print the JSON Schema of topology files (for editors).')
    .action(() => {
      io.out(JSON.stringify(topologyJsonSchema(allComponents), null, 2));
    });

  program
    .command('components')
    .description('List every component kind with its description and options.')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'markdown', 'json']).default('text'))
    .action((opts: { format: string }) => {
      if (opts.format === 'markdown') io.out(componentsMarkdown(allComponents));
      else if (opts.format === 'json') {
        io.out(JSON.stringify(allComponents.map((s) => ({ kind: s.kind, role: s.role, stability: s.stability, description: s.description, options: optionRows(s) })), null, 2));
      } else io.out(componentsText(allComponents));
    });

  program
    .command('generate-images')
    .description('Generate a seeded set of procedurally drawn images in the horses/ humans/ folder layout.')
    .requiredOption('--out <dir>', 'output folder')
    .option('--count <n>', 'number of images, split evenly across classes', '200')
    .option('--seed <n>', 'random seed (same seed, same images)', '1')
    .option('--width <px>', 'image width', '320')
    .option('--height <px>', 'image height', '240')
    .option('--quality <q>', 'JPEG quality 1-100', '85')
    .option('--classes <list>', 'comma-separated classes', 'horse,human')
    .action(async (opts: { out: string; count: string; seed: string; width: string; height: string; quality: string; classes: string }) => {
      code = await generateCommand(opts, io);
    });

  program
    .command('publish-images')
    .description('Send the images of a folder to a Kafka topic as camera frames (Avro CameraFrame records, or raw bytes with headers).')
    .argument('<dir>', 'folder of images (labels from parent folder names)')
    .requiredOption('--topic <name>', 'topic to send to')
    .option('--brokers <list>', 'bootstrap brokers, host:port[,…]', process.env.CENTAUR_KAFKA_BROKERS ?? '127.0.0.1:9092')
    .addOption(new Option('--format <format>', 'value format').choices(['avro', 'bytes']).default('avro'))
    .option('--registry <url>', 'schema registry URL (for --format avro)', process.env.CENTAUR_SCHEMA_REGISTRY_URL)
    .option('--cameras <n>', 'camera ids to spread the frames over (the message keys)', '8')
    .addOption(new Option('--client <library>', 'Kafka client library').choices([...KAFKA_CLIENTS]).default('confluent'))
    .option('--max-request-bytes <n>', 'most bytes of frames in one produce request (under the broker\'s message.max.bytes)', '900000')
    .option('--claim-check <uri>', 'store frames over --max-request-bytes here (s3://bucket/prefix, azure://account/container/prefix, file:///dir) and send ImageUpload references instead')
    .option('--uploads-topic <name>', 'with --claim-check: the topic of the references (default <topic>-uploads)')
    .option('--s3-endpoint <url>', 'with an s3:// --claim-check: an S3-compatible server (path-style addressing)')
    .action(async (dir: string, opts: PublishFlags) => {
      code = await publishCommand(dir, opts, io);
    });

  program
    .command('create-topics')
    .description('Create Kafka topics that do not exist yet (those a topology reads and writes).')
    .argument('<topics...>', 'topic names')
    .option('--brokers <list>', 'bootstrap brokers, host:port[,…]', process.env.CENTAUR_KAFKA_BROKERS ?? '127.0.0.1:9092')
    .option('--partitions <n>', 'partitions of each new topic', '4')
    .action(async (topics: string[], opts: { brokers: string; partitions: string }) => {
      const partitions = Number(opts.partitions);
      if (!Number.isInteger(partitions) || partitions < 1) {
        io.err(`centaur create-topics: --partitions must be a positive integer, got ${JSON.stringify(opts.partitions)}`);
        code = EXIT.invalid;
        return;
      }
      const { createTopics } = await import('./create-topics.js');
      const created = await createTopics(opts.brokers, topics, partitions);
      io.out(created.length === 0 ? 'every topic exists already' : `created ${created.join(', ')}`);
    });

  const models = program.command('models').description('Manage the model registry: versions, aliases, exports.');
  const registryOption = (): Option =>
    new Option('--registry <dir>', 'registry folder (default: $CENTAUR_MODEL_REGISTRY)').default(process.env.CENTAUR_MODEL_REGISTRY);
  models
    .command('list')
    .description('List models, their versions and aliases.')
    .addOption(registryOption())
    .option('--json', 'print JSON')
    .action(async (opts: { registry?: string; json?: boolean }) => {
      code = await modelsCommand(opts.registry, io, async (registry) => {
        const all = await Promise.all((await registry.models()).map(async (m) => ({ model: m, versions: await registry.versions(m) })));
        if (opts.json === true) return JSON.stringify(all, null, 2);
        if (all.length === 0) return `no models in ${registry.root}`;
        return all.flatMap(({ model, versions }) => [model, ...versions.map((v) => `  ${v.version.padEnd(12)} ${(v.createdAt ?? '').padEnd(25)} ${v.aliases.join(', ')}`)]).join('\n');
      });
    });
  models
    .command('show')
    .description('Print the manifest of a version (by version or alias; default `production`).')
    .argument('<model>')
    .argument('[ref]', 'version or alias', 'production')
    .addOption(registryOption())
    .action(async (model: string, ref: string, opts: { registry?: string }) => {
      code = await modelsCommand(opts.registry, io, async (registry) => JSON.stringify((await registry.load(model, ref)).manifest, null, 2));
    });
  models
    .command('register')
    .description('Copy a model folder (manifest.json + files) into the registry as a new, immutable, checksummed version.')
    .argument('<model-dir>')
    .addOption(registryOption())
    .option('--version <v>', "version name (default: the manifest's)")
    .option('--alias <names>', 'comma-separated aliases to point at it, e.g. candidate')
    .action(async (dir: string, opts: { registry?: string; version?: string; alias?: string }) => {
      code = await modelsCommand(opts.registry, io, async (registry) => {
        const aliases = opts.alias === undefined ? [] : opts.alias.split(',').map((a) => a.trim()).filter((a) => a.length > 0);
        const info = await registry.register(dir, { ...(opts.version === undefined ? {} : { version: opts.version }), aliases });
        return `registered ${info.model} version ${info.version} (sha256 ${info.sha256 ?? '?'})${info.aliases.length > 0 ? `, aliases ${info.aliases.join(', ')}` : ''}`;
      });
    });
  models
    .command('alias')
    .description('Point an alias (production, candidate, …) at a version; infer nodes following it swap without a restart.')
    .argument('<model>')
    .argument('<alias>')
    .argument('<version>')
    .addOption(registryOption())
    .action(async (model: string, alias: string, version: string, opts: { registry?: string }) => {
      code = await modelsCommand(opts.registry, io, async (registry) => {
        await registry.setAlias(model, alias, version);
        return `${model}: ${alias} → ${version}`;
      });
    });

  models
    .command('rollback')
    .description('Point an alias (default production) back at the version it named before its current one, from the alias history; infer nodes following it swap back.')
    .argument('<model>')
    .argument('[alias]', 'the alias to roll back', 'production')
    .addOption(registryOption())
    .action(async (model: string, alias: string, opts: { registry?: string }) => {
      code = await modelsCommand(opts.registry, io, async (registry) => {
        const { rollback } = await import('../registry/promotion.js');
        const done = await rollback(registry, model, alias);
        return `${model}: ${done.alias} → ${done.to} (was ${done.from})`;
      });
    });
  models
    .command('history')
    .description('Print every alias move of a model, oldest first.')
    .argument('<model>')
    .addOption(registryOption())
    .action(async (model: string, opts: { registry?: string }) => {
      code = await modelsCommand(opts.registry, io, async (registry) => {
        const moves = await registry.aliasHistory(model);
        if (moves.length === 0) return `${model}: no alias moves recorded`;
        return moves.map((m) => `${m.at}  ${m.alias.padEnd(12)} ${m.from ?? '–'} → ${m.version}${m.reason === undefined ? '' : ` (${m.reason})`}`).join('\n');
      });
    });

  models
    .command('export-triton')
    .description('Write a Triton model repository entry (config.pbtxt, labels.txt, <version>/model.onnx) for a model folder.')
    .argument('<manifest-dir>', 'folder holding manifest.json and the ONNX file')
    .requiredOption('--out <dir>', 'model repository folder to write into')
    .option('--max-batch <n>', 'max_batch_size (default 64)')
    .option('--preferred <sizes>', 'dynamic_batching preferred batch sizes, comma-separated (default 8,16,32)')
    .option('--max-queue-delay-us <n>', 'dynamic_batching max_queue_delay_microseconds (default 500)')
    .option('--instances <n>', 'instance_group count (default 1)')
    .option('--kind <kind>', 'instance_group kind: KIND_GPU, KIND_CPU or KIND_AUTO (default KIND_AUTO)')
    .option('--name <name>', "model name in the repository (default: the manifest's)")
    .option('--version <n>', "version folder, a positive integer (default: the manifest's version)")
    .action(async (dir: string, opts: ExportTritonFlags) => {
      const { exportTritonCommand } = await import('./export-triton.js');
      code = await exportTritonCommand(dir, opts, io);
    });

  program
    .command('bench')
    .description(
      'Benchmark a scenario against its outside references, in the same run: decode (per-core decode against Pillow draft mode), files (the demo pipeline on a folder against the ceiling of the best decode and inference alone), kafka (Kafka → Kafka against the ceiling, a plain Python consumer and a raw copy loop; paced latency and the knee), clients (the Kafka client libraries side by side: the camera pipeline and a relay of the frames, against the Python copy loop; the best one recommended), drift (false alarms on stationary streams and windows until a shift is detected, calibrated thresholds against Evidently\'s fixed ones), compare A.json B.json (two results side by side).',
    )
    .argument('<scenario>', 'decode, files, kafka, clients, drift or compare')
    .argument('[results...]', 'compare: the two JSON results (--json) to compare')
    .option('--images <n>', 'generated 640×480 JPEGs to measure', '300')
    .option('--runs <n>', 'runs per path (medians and spread are reported)', '5')
    .option('--size <px>', 'model input side', '224')
    .option('--python <path>', 'a Python with the packages of bench/requirements.txt, for the references (default: the one bench/setup-python.sh installs)')
    .option('--json <file>', 'write the result as JSON')
    .option('--markdown <file>', 'write the result as a Markdown table')
    .option('--html <file>', 'write the result as an HTML page with a bar chart (median and range of the runs)')
    .option('--cache <dir>', 'where generated images are kept between runs', '.cache/bench')
    .option('--decoder <decoder>', 'files, kafka, clients: decode-image decoder (sharp or jpeg-turbo)', 'sharp')
    .option('--batch <n>', 'files, kafka, clients: micro-batch size, also the batch of inference alone and of the Python consumer', '16')
    .option('--max-delay <ms>', 'files, kafka, clients: micro-batch maxDelayMs', '50')
    .option('--infer-threads <n>', 'files, kafka, clients: onnxruntime intra-op threads', '2')
    .option('--decode-concurrency <n>', 'files, kafka, clients: images decode-image decodes at once', '16')
    .option('--model <dir>', 'files, kafka, clients: model folder (default: the demo model)')
    .option('--brokers <list>', 'kafka, clients: bootstrap brokers (default $CENTAUR_KAFKA_BROKERS, else 127.0.0.1:9092)')
    .option('--registry <url>', 'kafka, clients: schema registry for Avro frames (default $CENTAUR_SCHEMA_REGISTRY_URL, else http://127.0.0.1:8081/apis/ccompat/v7)')
    .option('--format <format>', 'kafka, clients: frames as avro (CameraFrame) or bytes (raw JPEG, headers)', 'avro')
    .option('--client <client>', `kafka: Centaur's client library (${KAFKA_CLIENTS.join(', ')})`, 'confluent')
    .option('--clients <list>', `clients: the client libraries to compare, comma-separated`, KAFKA_CLIENTS.join(','))
    .option('--partitions <n>', 'kafka, clients: partitions of the frames and predictions topics', '4')
    .option('--rate <fps>', 'kafka: also one paced run at this many frames/s, with latency from capture to append')
    .option('--knee', 'kafka: find the highest paced rate whose p95 latency stays under --bound')
    .option('--bound <ms>', 'kafka: the p95 latency bound of the knee search', '500')
    .option('--probe-seconds <s>', 'kafka: seconds of paced frames per probe', '10')
    .option('--knee-steps <n>', 'kafka: probes of the knee search', '5')
    .option('--reference <n>', 'drift: reference images (profile and calibration; 10 × the largest window at least)', '10000')
    .option('--pool <n>', 'drift: images of the live source stationary windows are drawn from', '4000')
    .option('--shift-pool <n>', 'drift: images per shift', '1000')
    .option('--window-sizes <list>', 'drift: window sizes', '100,500,1000')
    .option('--windows <n>', 'drift: stationary windows per mode, thresholds, size and seed', '100')
    .option('--seeds <n>', 'drift: stationary streams per mode, thresholds and size', '3')
    .option('--trigger-windows <n>', 'drift: stationary windows of the smallest size fed to the retrain trigger, per mode', '10000')
    .option('--repeats <n>', 'drift: episodes per shift, mode and size', '5')
    .option('--calibration-windows <n>', 'drift: windows drawn per size to calibrate', '1000')
    .option('--false-alarm-rate <rate>', 'drift: the calibration\'s false-alarm rate', '0.01')
    .option('--sweep <axis=values>', 'files, kafka: measure every combination instead (axes: batch, max-delay, decode-concurrency, infer-threads; repeatable), e.g. --sweep batch=8,16,32 --sweep max-delay=15,50', (value: string, previous: string[] = []) => [...previous, value])
    .addHelpText('after', '\nExit status: 0 measured, 1 a service or run failed, 2 usage error. Run it on a quiet machine; the figures are per core.')
    .action(async (scenario: string, results: string[], opts: BenchFlags) => {
      const { benchCommand } = await import('./bench.js');
      code = await benchCommand(scenario, results, opts, io);
    });

  const driftCmd = program.command('drift').description('Drift monitoring tools.');
  driftCmd
    .command('profile')
    .description('Build the reference profile of a data set: a folder of images (image features, and model outputs and embeddings with --model) or a JSONL file of feature records (e.g. the prediction records of a files sink).')
    .argument('<input>', 'folder of images (read recursively) or JSONL file (one record per line)')
    .requiredOption('--out <file>', 'profile file to write (name it in the manifest as `referenceProfile`)')
    .option('--model <model-dir>', 'model folder: decode images with its input settings and add its outputs and embeddings')
    .option('--sample <n>', 'values kept per numerical feature (default 5000)')
    .option('--seed <n>', 'seed of the sample (default 1)')
    .option('--columns <names>', "comma-separated columns to profile (default: every Centaur feature with values); other names are read as fields of the JSONL records")
    .option('--categorical <names>', 'comma-separated JSONL fields (not Centaur features) to treat as categorical even when their values are numbers')
    .option('--strict', 'JSONL: fail at the first bad line (default: skip bad lines, report each on stderr with its line number, and count them)')
    .option('--no-calibrate', 'do not calibrate thresholds (the profile is then built from every row, and drift nodes use Evidently\'s fixed thresholds)')
    .option('--calibrate-sizes <sizes>', 'comma-separated window sizes to calibrate thresholds for (default 100,500,1000; each needs 10 × its size in rows)')
    .option('--false-alarm-rate <rate>', 'share of stationary windows allowed to alarm, per feature, for the dataset rule and for embeddings (default 0.01)')
    .option('--calibration-windows <n>', 'windows drawn per size to calibrate (default 1000)')
    .addHelpText('after', '\nExit status: 0 written, 1 nothing could be read, 2 usage or input error.')
    .action(async (input: string, opts: DriftProfileFlags) => {
      const { driftProfileCommand } = await import('./drift-profile.js');
      code = await driftProfileCommand(input, opts, io);
    });
  program
    .command('train')
    .description('Fit a new classification head on the training set in the lake (embeddings and labels from training-set-sink) for a model, judge it against the model on the same holdout, write the new version (the ONNX graph with its head replaced) and register it when blessed.')
    .argument('<training-set>', 'the training-set folder: s3://…, azure://…, file:///… or a path (e.g. lake/training-set); or a local folder of images by class (horses/, humans/, dogs/ …), embedded with the model')
    .requiredOption('--model <model-dir>', 'the serving model: its classes come first, and only rows of its fingerprint are used')
    .requiredOption('--out <dir>', 'folder to write the new version and its report into')
    .option('--policy <latest|majority>', 'the label of a row several annotators labelled (default latest)')
    .option('--weights <balanced|none>', 'class weights in the loss (default balanced: n / (classes × n_class))')
    .option('--min-per-class <n>', 'fewest train examples each class needs (default 10)')
    .option('--seed <n>', 'seed of the initial weights and the shuffles (default 1)')
    .option('--max-epochs <n>', 'default 100')
    .option('--batch-size <n>', 'default 256')
    .option('--learning-rate <x>', 'Adam\'s learning rate (default 0.01)')
    .option('--l2 <x>', 'L2 penalty on the kernel (default 0.0001)')
    .option('--patience <n>', 'epochs without a better validation loss before stopping (default 5; 0: never early)')
    .option('--any-fingerprint', 'train on rows of any fingerprint (default: only those of the model\'s)')
    .option('--quiet', 'no per-epoch lines on stderr')
    .option('--max-macro-f1-drop <x>', "blessing: the candidate's macro F1 over the model's classes may be this much below the model's (default 0.01)")
    .option('--min-recall <x>', "blessing: recall floor of each of the model's classes (default 0.8)")
    .option('--min-new-class-recall <x>', 'blessing: recall floor of each new class (default 0.8)')
    .option('--min-holdout-per-class <n>', 'blessing: fewest holdout examples of each class to judge it (default 5)')
    .option('--registry <location>', 'register a blessed version here (folder, s3://…, azure://…, mlflow+http://host:port) under alias candidate')
    .option('--version <name>', "the new version's name (default: the registry's next whole number, else the model's + 1)")
    .option('--promote', 'also point production at a blessed version')
    .option('--mlflow <url>', 'log the training as a run on this MLflow tracking server and register a registered version in its Model Registry too (default: $MLFLOW_TRACKING_URI)')
    .option('--experiment <name>', 'the MLflow experiment (default centaur-training)')
    .addHelpText('after', '\nWrites <out>/model/ (manifest.json and the ONNX graph with the head replaced), head.json, report.json, report.md and confusion.svg.\nExit status: 0 blessed (and registered with --registry), 3 trained but not blessed (not registered), 1 training failed, 2 usage error or too few labels.')
    .action(async (trainingSet: string, opts: TrainFlags) => {
      const { trainCommand } = await import('./train.js');
      code = await trainCommand(trainingSet, opts, io);
    });

  const collect = (value: string, previous: string[]): string[] => [...previous, value];
  driftCmd
    .command('compare')
    .description("Compare two data sets column by column with Evidently's data drift methods, thresholds and automatic choice (its DataDriftPreset), and report dataset drift.")
    .requiredOption('--reference <path>', 'reference data: a folder of images, a JSONL file of feature records, or a reference profile')
    .requiredOption('--current <path>', 'current data: a folder of images or a JSONL file of feature records')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--columns <names>', "comma-separated columns to compare (default: every column both sides have); other names than Centaur's features are read as fields of the JSONL records")
    .option('--categorical <names>', 'comma-separated JSONL fields (not Centaur features) to treat as categorical even when their values are numbers')
    .option('--method <method>', 'drift method for every column it applies to, or <column>=<method> (repeatable, or comma-separated): ks, chisquare, z, psi, kl_div, jensenshannon, wasserstein (default: Evidently\'s choice)', collect, [])
    .option('--threshold <value>', "threshold for every column, or <column>=<value> (repeatable, or comma-separated; default: the method's)", collect, [])
    .option('--drift-share <share>', 'share of drifted columns at which the dataset drifts (default 0.5)')
    .option('--model <model-dir>', 'model folder for image folders: decode with its input settings and add its outputs and embeddings')
    .option('--strict', 'JSONL: fail at the first bad line (default: skip bad lines and count them)')
    .addHelpText('after', '\nExit status: 0 no dataset drift, 1 dataset drift, 2 usage or input error — so a CI step fails when the data drifted.')
    .action(async (opts: DriftCompareFlags) => {
      const { driftCompareCommand } = await import('./drift-compare.js');
      code = await driftCompareCommand(opts, io);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.ok;
      return EXIT.invalid;
    }
    io.err(`centaur: ${(error as Error).message}`);
    return EXIT.runtime;
  }
  return code;
}

async function validateCommand(files: readonly string[], io: CliIo): Promise<number> {
  let invalid = 0;
  for (const file of files) {
    try {
      const topology = await loadTopologyFile(file);
      for (const warning of topology.warnings) io.err(`warning: ${formatIssue(warning)}`);
      io.out(`${file}: ok (${topology.nodes.size} nodes${topology.warnings.length === 0 ? '' : `, ${topology.warnings.length} warning${topology.warnings.length === 1 ? '' : 's'}`})`);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      invalid += 1;
      for (const issue of error.issues) io.err(formatIssue(issue));
      io.err(`${file}: ${error.issues.length} problem${error.issues.length === 1 ? '' : 's'}`);
    }
  }
  return invalid > 0 ? EXIT.invalid : EXIT.ok;
}

/** Options of `centaur run`; `http` is false with --no-http, a host:port with --http. */
interface RunOptions {
  logLevel: string;
  json?: boolean;
  http?: string | boolean;
}

/** Parses `host:port`, `[v6]:port` or a bare port (host 127.0.0.1). */
export function parseListenAddress(text: string): { host: string; port: number } | null {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  if (match === null) return null;
  const port = Number(match[3]);
  if (!Number.isInteger(port) || port > 65535) return null;
  const host = match[1] !== undefined && match[1] !== '' ? match[1] : match[2] !== undefined && match[2] !== '' ? match[2] : '127.0.0.1';
  return { host, port };
}

async function runCommand(file: string, opts: RunOptions, io: CliIo): Promise<number> {
  const rootLogger = createLogger(opts.logLevel);
  let logger = rootLogger;
  let topology;
  try {
    topology = await loadTopologyFile(file);
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const issue of error.issues) io.err(formatIssue(issue));
      return EXIT.invalid;
    }
    throw error;
  }
  logger = rootLogger.child({ topology: topology.name });
  let listen: { host: string; port: number } | null = topology.http.enabled ? { host: topology.http.host, port: topology.http.port } : null;
  if (opts.http === false) listen = null;
  else if (typeof opts.http === 'string') {
    listen = parseListenAddress(opts.http);
    if (listen === null) {
      io.err(`centaur run: --http must be host:port or a port, got ${JSON.stringify(opts.http)}`);
      return EXIT.invalid;
    }
  }
  const { Runtime } = await import('../runtime/runtime.js');
  const { formatSummary } = await import('../runtime/run-summary.js');
  const runtime = new Runtime(topology, { logger });
  let server: { close(): Promise<void> } | undefined;
  if (listen !== null) {
    const { startHttpServer } = await import('../http/server.js');
    try {
      server = await startHttpServer(runtime, { ...listen, ...(topology.http.token === undefined ? {} : { token: topology.http.token }) }, logger);
    } catch (error) {
      io.err(`centaur: ${error instanceof CentaurError ? `${error.code}: ` : ''}${(error as Error).message}`);
      return EXIT.invalid;
    }
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      io.err(`centaur: second ${signal}; exiting without draining`);
      process.exit(EXIT.runtime);
    }
    io.err(`centaur: ${signal} received; draining (press again to exit at once)`);
    runtime.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await runtime.run();
    io.out(opts.json === true ? JSON.stringify(summary) : formatSummary(summary));
    return summary.drainTimedOut ? EXIT.runtime : EXIT.ok;
  } catch (error) {
    const code = error instanceof CentaurError && error.category === 'config' ? EXIT.invalid : EXIT.runtime;
    io.err(`centaur: ${error instanceof CentaurError ? `${error.code}: ` : ''}${(error as Error).message}`);
    return code;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await server?.close();
    logger.flush();
  }
}

/** Runs a registry command: config errors (missing registry, unknown model) exit 2 with the message. */
async function modelsCommand(root: string | undefined, io: CliIo, action: (registry: ModelRegistryApi) => Promise<string>): Promise<number> {
  if (root === undefined || root === '') {
    io.err('centaur models: give --registry <dir> or set CENTAUR_MODEL_REGISTRY');
    return EXIT.invalid;
  }
  const { openRegistry } = await import('../registry/open-registry.js');
  // Object-store registries reach S3-compatible servers through $CENTAUR_S3_ENDPOINT (path-style).
  const endpoint = process.env.CENTAUR_S3_ENDPOINT;
  try {
    const registry = await openRegistry(root, process.cwd(), endpoint === undefined || endpoint === '' ? {} : { s3: { endpoint, forcePathStyle: true } });
    io.out(await action(registry));
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CentaurError && error.category === 'config') {
      io.err(`centaur models: ${error.code}: ${error.message}`);
      return EXIT.invalid;
    }
    throw error;
  }
}

/** The flags of `centaur publish-images`. */
interface PublishFlags {
  readonly topic: string;
  readonly brokers: string;
  readonly format: 'avro' | 'bytes';
  readonly registry?: string;
  readonly cameras: string;
  readonly client: KafkaClientName;
  readonly maxRequestBytes: string;
  readonly claimCheck?: string;
  readonly uploadsTopic?: string;
  readonly s3Endpoint?: string;
}

async function publishCommand(dir: string, opts: PublishFlags, io: CliIo): Promise<number> {
  const cameras = Number(opts.cameras);
  if (!Number.isInteger(cameras) || cameras < 1) {
    io.err(`centaur publish-images: --cameras must be a positive integer, got ${JSON.stringify(opts.cameras)}`);
    return EXIT.invalid;
  }
  const maxRequestBytes = Number(opts.maxRequestBytes);
  if (!Number.isInteger(maxRequestBytes) || maxRequestBytes < 1024) {
    io.err(`centaur publish-images: --max-request-bytes must be a whole number of at least 1024, got ${JSON.stringify(opts.maxRequestBytes)}`);
    return EXIT.invalid;
  }
  const { publishImages } = await import('./publish-images.js');
  try {
    const claimCheck =
      opts.claimCheck === undefined
        ? undefined
        : { store: opts.claimCheck, topic: opts.uploadsTopic ?? `${opts.topic}-uploads`, ...(opts.s3Endpoint === undefined ? {} : { s3Endpoint: opts.s3Endpoint }) };
    const published = await publishImages(
      { dir, topic: opts.topic, brokers: opts.brokers, format: opts.format, cameras, client: opts.client, maxRequestBytes, ...(opts.registry === undefined ? {} : { registry: opts.registry }), ...(claimCheck === undefined ? {} : { claimCheck }) },
      createLogger('warn'),
    );
    io.out(`published ${published.frames} images to ${opts.topic}${claimCheck === undefined ? '' : `, ${published.references} by reference to ${claimCheck.topic} (stored under ${claimCheck.store})`}`);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CentaurError && error.category === 'config') {
      io.err(`centaur publish-images: ${error.message}`);
      return EXIT.invalid;
    }
    throw error;
  }
}

async function generateCommand(opts: { out: string; count: string; seed: string; width: string; height: string; quality: string; classes: string }, io: CliIo): Promise<number> {
  const { generateImages, isDemoClass } = await import('../demo/generate-images.js');
  const ints = { count: Number(opts.count), seed: Number(opts.seed), width: Number(opts.width), height: Number(opts.height), quality: Number(opts.quality) };
  for (const [name, value] of Object.entries(ints)) {
    if (!Number.isInteger(value) || value < (name === 'seed' ? 0 : 1)) {
      io.err(`centaur generate-images: --${name} must be a ${name === 'seed' ? 'non-negative' : 'positive'} integer, got ${JSON.stringify(opts[name as keyof typeof opts])}`);
      return EXIT.invalid;
    }
  }
  const classes = opts.classes.split(',').map((c) => c.trim());
  const unknown = classes.filter((c) => !isDemoClass(c));
  if (unknown.length > 0) {
    io.err(`centaur generate-images: unknown class ${unknown.map((c) => `\`${c}\``).join(', ')}`);
    return EXIT.invalid;
  }
  const images = await generateImages({ outDir: opts.out, ...ints, classes: classes.filter(isDemoClass) });
  io.out(`wrote ${images.length} images to ${opts.out}`);
  return EXIT.ok;
}
