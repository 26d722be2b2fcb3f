/**
 * A stand-in KServe v2 server (HTTP, binary tensors) for throughput measurements that must not
 * be bound by the CPU: it serves the tiny test model's interface (test/fixtures/tiny-model: input
 * `input` [N,4,4,3] FP32, outputs `embedding` [N,3] and `probabilities` [N,2]) and answers every
 * infer request after a fixed delay, doing almost no work. It stands for a GPU server far away;
 * never for correctness (the real servers are MLServer and Triton).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

const MODEL = 'tiny';
const METADATA = {
  name: MODEL,
  versions: ['1'],
  platform: 'slow-stand-in',
  inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4, 4, 3] }],
  outputs: [
    { name: 'embedding', datatype: 'FP32', shape: [-1, 3] },
    { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
  ],
};

export interface SlowServer {
  readonly url: string;
  /** Infer requests answered, and images in them. */
  readonly stats: { requests: number; images: number };
  close(): Promise<void>;
}

/** Starts the stand-in on a free loopback port; each infer answer waits `delayMs`. */
export async function startSlowKserve(delayMs: number): Promise<SlowServer> {
  const stats = { requests: 0, images: 0 };
  const server: Server = createServer((req, res) => void handle(req, res, delayMs, stats));
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, delayMs: number, stats: { requests: number; images: number }): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const url = req.url ?? '';
  const json = (status: number, value: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(value));
  };
  if (req.method === 'GET' && (url === '/v2/health/ready' || url === '/v2/health/live' || url === `/v2/models/${MODEL}/ready`)) return json(200, {});
  if (req.method === 'GET' && url === '/v2') return json(200, { name: 'slow-stand-in', version: '1', extensions: [] });
  if (req.method === 'GET' && url === `/v2/models/${MODEL}`) return json(200, METADATA);
  if (req.method === 'POST' && url === `/v2/models/${MODEL}/infer`) {
    const headerLength = Number(req.headers['inference-header-content-length'] ?? body.length);
    const header = JSON.parse(body.subarray(0, headerLength).toString('utf8')) as { inputs: { shape: number[] }[] };
    const n = header.inputs[0]?.shape[0] ?? 0;
    stats.requests += 1;
    stats.images += n;
    const embedding = Buffer.alloc(n * 3 * 4);
    const probabilities = Buffer.alloc(n * 2 * 4);
    for (let i = 0; i < n; i += 1) {
      probabilities.writeFloatLE(0.25, i * 8);
      probabilities.writeFloatLE(0.75, i * 8 + 4);
    }
    const answer = Buffer.from(
      JSON.stringify({
        model_name: MODEL,
        model_version: '1',
        outputs: [
          { name: 'embedding', datatype: 'FP32', shape: [n, 3], parameters: { binary_data_size: embedding.length } },
          { name: 'probabilities', datatype: 'FP32', shape: [n, 2], parameters: { binary_data_size: probabilities.length } },
        ],
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(answer.length) });
    res.end(Buffer.concat([answer, embedding, probabilities]));
    return;
  }
  json(404, { error: `${req.method ?? ''} ${url} is not offered` });
}
