/**
 * Inference backends compared on the demo model, in one process and one run: onnx in process vs
 * the KServe v2 server of `scripts/services/services.sh up kserve` over HTTP (binary tensors) and
 * over gRPC, at batch 1/8/32/64. Each configuration calls `backend.run` back to back (one batch in
 * flight) for a few seconds after a warm-up, and reports images/s and p50/p95 per call, each as a
 * ratio to the in-process onnx figure of the same batch size. Where the server reports its own
 * compute time (`compute_ms` in HTTP response parameters), two overheads are reported against it:
 * wall time minus compute (serialisation and transport at both ends, the server's own request
 * handling included), and the client's own CPU time per call (this process's user + system time
 * while the call is in flight: encoding, socket writes and reads, decoding). gRPC answers carry no
 * parameters from this server, so gRPC rows are set against the HTTP compute median.
 * Prints a markdown table. Usage: npm run bench:backends -- [--batches 1,8,32,64] [--seconds 3]
 * [--http URL] [--grpc HOST:PORT] [--model-name NAME] [--threads N].
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createBackend } from '../src/inference/backend.js';
import type { InferenceBackend, KserveBackendOptions } from '../src/inference/backend.js';
import { connectionFor, startKserveBackend } from '../src/inference/kserve-backend.js';
import { createKserveClient } from '../src/inference/kserve/index.js';
import type { InferRequest, InferResponse, KserveClient } from '../src/inference/kserve/index.js';
import { loadManifest } from '../src/inference/manifest.js';
import { demoBatches, quantile, timeBackend, WARM_UP } from './backend-timing.js';

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '1,8,32,64' },
    seconds: { type: 'string', default: '3' },
    http: { type: 'string', default: process.env.CENTAUR_KSERVE_URL ?? 'http://127.0.0.1:8000' },
    grpc: { type: 'string', default: process.env.CENTAUR_KSERVE_GRPC ?? '127.0.0.1:8001' },
    'model-name': { type: 'string', default: 'horse-or-human' },
    model: { type: 'string', default: 'models/demo' },
    threads: { type: 'string', default: '0' },
  },
});
const batches = values.batches.split(',').map(Number);
const seconds = Number(values.seconds);
const threads = Number(values.threads);

/** One configuration's figures. */
interface Figures {
  readonly backend: string;
  readonly batch: number;
  readonly calls: number;
  readonly imagesPerSecond: number;
  readonly p50: number;
  readonly p95: number;
  /** Server-side compute per call (median, ms), where the server reported it. */
  readonly computeP50?: number;
  /** Wall minus compute per call (median, ms). */
  readonly overheadP50?: number;
  /** This process's CPU time per call (median, ms), for the KServe clients. */
  readonly clientCpuP50?: number;
}

/** A client that passes every call through and keeps the `compute_ms` of each answer. */
class ComputeRecorder implements KserveClient {
  readonly computeMs: number[] = [];
  readonly wallMs: number[] = [];
  readonly cpuMs: number[] = [];

  constructor(private readonly inner: KserveClient) {}
  get protocol(): 'http' | 'grpc' {
    return this.inner.protocol;
  }
  get address(): string {
    return this.inner.address;
  }
  live(): Promise<boolean> {
    return this.inner.live();
  }
  ready(): Promise<boolean> {
    return this.inner.ready();
  }
  modelReady(name: string, version?: string): Promise<boolean> {
    return this.inner.modelReady(name, version);
  }
  serverMetadata(): ReturnType<KserveClient['serverMetadata']> {
    return this.inner.serverMetadata();
  }
  modelMetadata(name: string, version?: string): ReturnType<KserveClient['modelMetadata']> {
    return this.inner.modelMetadata(name, version);
  }
  async infer(request: InferRequest): Promise<InferResponse> {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const response = await this.inner.infer(request);
    const used = process.cpuUsage(cpu);
    this.wallMs.push(performance.now() - started);
    this.cpuMs.push((used.user + used.system) / 1000);
    const compute = response.parameters.compute_ms;
    if (typeof compute === 'number') this.computeMs.push(compute);
    return response;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

const model = await loadManifest(path.resolve(values.model));
const { input } = model.manifest;
const largest = Math.max(...batches);

// Real demo images, decoded and scaled as decode-image and micro-batch do, packed once.
const tensorOf = await demoBatches(input, largest);

const onnx = await createBackend({ kind: 'onnx', ...(threads > 0 ? { intraOpNumThreads: threads } : {}), allowSpinning: true }, model);
const kserve = async (options: KserveBackendOptions): Promise<{ backend: InferenceBackend; recorder: ComputeRecorder }> => {
  const recorder = new ComputeRecorder(await createKserveClient(connectionFor(options)));
  return { backend: await startKserveBackend(model, options, recorder), recorder };
};
const modelName = values['model-name'];
const http = await kserve({ kind: 'kserve', protocol: 'http', endpoint: values.http, model: modelName, maxInFlight: 1 });
const grpc = await kserve({ kind: 'kserve', protocol: 'grpc', endpoint: values.grpc, model: modelName, maxInFlight: 1 });

/** Calls `backend.run` back to back for `seconds` (at least MIN_CALLS times) after a warm-up. */
async function measure(name: string, backend: InferenceBackend, batch: number, recorder?: ComputeRecorder): Promise<Figures> {
  const timed = await timeBackend(backend, tensorOf(batch), seconds, () => {
    if (recorder === undefined) return;
    recorder.computeMs.length = 0;
    recorder.wallMs.length = 0;
    recorder.cpuMs.length = 0;
  });
  const figures: Figures = { backend: name, batch, ...timed };
  if (recorder === undefined) return figures;
  const withCpu = { ...figures, clientCpuP50: quantile(recorder.cpuMs, 0.5) };
  if (recorder.computeMs.length !== recorder.wallMs.length || recorder.computeMs.length === 0) return withCpu;
  const overhead = recorder.wallMs.map((w, i) => w - (recorder.computeMs[i] as number));
  return { ...withCpu, computeP50: quantile(recorder.computeMs, 0.5), overheadP50: quantile(overhead, 0.5) };
}

const rows: Figures[] = [];
for (const batch of batches) {
  const local = await measure('onnx (in process)', onnx, batch);
  const viaHttp = await measure('KServe HTTP (binary)', http.backend, batch, http.recorder);
  const viaGrpc = await measure('KServe gRPC', grpc.backend, batch, grpc.recorder);
  rows.push(local, viaHttp, viaGrpc);
  process.stderr.write(`batch ${batch}: ${[local, viaHttp, viaGrpc].map((r) => `${r.backend} ${r.imagesPerSecond.toFixed(1)}/s`).join(', ')}\n`);
}
await Promise.all([onnx.close(), http.backend.close(), grpc.backend.close()]);

const fixed = (v: number, digits = 1): string => v.toFixed(digits);
const percent = (part: number | undefined, whole: number | undefined, note: string): string =>
  part === undefined || whole === undefined ? '' : `${fixed((100 * part) / whole)}%${note}`;
const lines = [
  `Backends on ${model.manifest.name} ${model.manifest.version} (${input.width}×${input.height}), one batch in flight, ~${seconds} s per row after ${WARM_UP} warm-up calls; onnx: ${onnx.description}; server: ${http.backend.description.replace(/^kserve http /, '')}, ${grpc.backend.description.replace(/^kserve grpc /, '')}.`,
  '(est.): gRPC answers carry no compute time; set against the HTTP compute median of the same batch.',
  '',
  '| batch | backend | calls | images/s | × onnx | p50 ms | p95 ms | p50 × onnx | server compute p50 ms | wall − compute p50 ms | (÷ compute) | client CPU p50 ms | (÷ compute) |',
  '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
];
for (const batch of batches) {
  const group = rows.filter((r) => r.batch === batch);
  const base = group[0] as Figures;
  const httpCompute = group.find((r) => r.computeP50 !== undefined)?.computeP50;
  for (const r of group) {
    const remote = r !== base;
    const compute = remote ? (r.computeP50 ?? httpCompute) : undefined;
    const note = remote && r.computeP50 === undefined ? ' (est.)' : '';
    const overhead = r.overheadP50 ?? (compute === undefined ? undefined : r.p50 - compute);
    lines.push(
      [
        '',
        batch,
        r.backend,
        r.calls,
        fixed(r.imagesPerSecond),
        fixed(r.imagesPerSecond / base.imagesPerSecond, 2),
        fixed(r.p50),
        fixed(r.p95),
        fixed(r.p50 / base.p50, 2),
        compute === undefined ? '' : fixed(compute),
        overhead === undefined ? '' : `${fixed(overhead)}${note}`,
        percent(overhead, compute, note),
        r.clientCpuP50 === undefined ? '' : fixed(r.clientCpuP50),
        percent(r.clientCpuP50, compute, note),
        '',
      ]
        .join(' | ')
        .trim(),
    );
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
