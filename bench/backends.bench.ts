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
 * parameters from this server, so gRPC rows are set against the HTTP compute median. A gRPC row
 * with `grpcInfer: grpc-js` is the baseline of the client's own HTTP/2 caller for ModelInfer.
 *
 * Half precision: two more rows (gRPC, or HTTP with `--fp16-protocol http`) send FP16, once from a float32 batch that the client converts
 * per request, once from a float16 batch as `micro-batch` with `dtype: float16` packs it (sent as
 * it is). A second table sets their client CPU beside the batcher's own CPU to pack the batch
 * (float32 or float16, from decoded 8-bit images), so the sum is the client-side CPU per batch of
 * each way. Prints markdown tables. Usage: npm run bench:backends -- [--batches 1,8,32,64]
 * [--seconds 3] [--http URL] [--grpc HOST:PORT] [--model-name NAME] [--threads N]
 * [--fp16-protocol grpc|http].
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { BatchTensor, ImageTensor } from '../src/core/envelope.js';
import { toFloat16Array } from '../src/core/fp16.js';
import { createBackend } from '../src/inference/create-backend.js';
import type { InferenceBackend, KserveBackendOptions } from '../src/inference/backend.js';
import { connectionFor, startKserveBackend } from '../src/inference/kserve-backend.js';
import { createKserveClient } from '../src/inference/kserve/index.js';
import type { InferRequest, InferResponse, KserveClient, ModelConfig } from '../src/inference/kserve/index.js';
import { loadManifest } from '../src/inference/manifest.js';
import { packBatch } from '../src/tensors/pack-batch.js';
import { TensorPool } from '../src/tensors/tensor-pool.js';
import type { TensorDtype } from '../src/tensors/tensor-pool.js';
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
    'fp16-protocol': { type: 'string', default: 'grpc' },
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
  modelConfig(name: string, version?: string): Promise<ModelConfig | null> {
    return this.inner.modelConfig?.(name, version) ?? Promise.resolve(null);
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
// The same requests through grpc-js (`grpcInfer: grpc-js`): the baseline of the client's own HTTP/2 caller.
const grpcJs = await kserve({ kind: 'kserve', protocol: 'grpc', endpoint: values.grpc, model: modelName, maxInFlight: 1, grpcInfer: 'grpc-js' });
const fp16Protocol = values['fp16-protocol'] === 'http' ? 'http' : 'grpc';
const fp16 = await kserve({
  kind: 'kserve',
  protocol: fp16Protocol,
  endpoint: fp16Protocol === 'http' ? values.http : values.grpc,
  model: modelName,
  maxInFlight: 1,
  inputDatatype: 'FP16',
});

/** The float16 batch micro-batch packs (`dtype: float16`): the float32 batch rounded to nearest even. */
const halfOf = (tensor: BatchTensor): BatchTensor => ({ ...tensor, data: toFloat16Array(tensor.data as Float32Array) });

/** Decoded-looking 8-bit images (packing cost does not depend on the pixel values). */
const packImages: ImageTensor[] = Array.from({ length: largest }, (_, i) => ({
  data: Uint8Array.from({ length: input.width * input.height * input.channels }, (_, j) => (i * 131 + j * 7) % 256),
  width: input.width,
  height: input.height,
  channels: input.channels,
  scale: input.scale,
}));

/** This process's CPU per packBatch of `n` images into a pooled buffer of `dtype` (median, ms). */
function packCpu(n: number, dtype: TensorDtype): number {
  const pool = new TensorPool(dtype, largest * input.width * input.height * input.channels, 1);
  const images = packImages.slice(0, n);
  const cpuMs: number[] = [];
  const started = performance.now();
  for (let i = 0; i < WARM_UP + 5 || performance.now() - started < 1000; i += 1) {
    const buffer = pool.acquire();
    const cpu = process.cpuUsage();
    packBatch(images, buffer, input.layout, dtype);
    const used = process.cpuUsage(cpu);
    pool.release(buffer);
    if (i >= WARM_UP) cpuMs.push((used.user + used.system) / 1000);
  }
  return quantile(cpuMs, 0.5);
}

/** Calls `backend.run` on `tensor` (default: the float32 batch of `batch`) back to back for `seconds` (at least MIN_CALLS times) after a warm-up. */
async function measure(
  name: string,
  backend: InferenceBackend,
  batch: number,
  recorder?: ComputeRecorder,
  tensor: BatchTensor = tensorOf(batch),
): Promise<Figures> {
  const timed = await timeBackend(backend, tensor, seconds, () => {
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

const via = fp16Protocol === 'http' ? 'HTTP' : 'gRPC';
const CONVERTED = `KServe ${via} FP16 (client converts float32)`;
const PACKED = `KServe ${via} FP16 (packed float16)`;
const rows: Figures[] = [];
const packing = new Map<number, { float32: number; float16: number }>();
for (const batch of batches) {
  const local = await measure('onnx (in process)', onnx, batch);
  const viaHttp = await measure('KServe HTTP (binary)', http.backend, batch, http.recorder);
  const viaGrpc = await measure('KServe gRPC', grpc.backend, batch, grpc.recorder);
  const viaGrpcJs = await measure('KServe gRPC (infer via grpc-js)', grpcJs.backend, batch, grpcJs.recorder);
  const converted = await measure(CONVERTED, fp16.backend, batch, fp16.recorder);
  const packed = await measure(PACKED, fp16.backend, batch, fp16.recorder, halfOf(tensorOf(batch)));
  const group = [local, viaHttp, viaGrpc, viaGrpcJs, converted, packed];
  rows.push(...group);
  packing.set(batch, { float32: packCpu(batch, 'float32'), float16: packCpu(batch, 'float16') });
  process.stderr.write(`batch ${batch}: ${group.map((r) => `${r.backend} ${r.imagesPerSecond.toFixed(1)}/s`).join(', ')}\n`);
}
await Promise.all([onnx.close(), http.backend.close(), grpc.backend.close(), grpcJs.backend.close(), fp16.backend.close()]);

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
lines.push(
  '',
  `Client-side CPU per batch for FP16 over ${via} (medians, ms): the batcher packing the batch, plus the client sending it (which converts a float32 batch to half precision).`,
  '',
  '| batch | pack float32 | client, converting | sum | pack float16 | client, as packed | sum | saved |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|',
);
for (const batch of batches) {
  const pack = packing.get(batch) as { float32: number; float16: number };
  const converted = rows.find((r) => r.batch === batch && r.backend === CONVERTED)?.clientCpuP50 ?? Number.NaN;
  const packed = rows.find((r) => r.batch === batch && r.backend === PACKED)?.clientCpuP50 ?? Number.NaN;
  const before = pack.float32 + converted;
  const after = pack.float16 + packed;
  lines.push(
    `| ${batch} | ${fixed(pack.float32, 2)} | ${fixed(converted, 2)} | ${fixed(before, 2)} | ${fixed(pack.float16, 2)} | ${fixed(packed, 2)} | ${fixed(after, 2)} | ${fixed((100 * (before - after)) / before)}% |`,
  );
}
process.stdout.write(`${lines.join('\n')}\n`);
