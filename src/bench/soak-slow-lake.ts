/**
 * The soak's slow sink: a fresh bucket on the S3 server, reached through a throttling HTTP proxy that
 * admits requests one after another at a fixed rate (a lake over a slow link: every request waits its
 * turn, first come first served). The `object-sink` writes through it unchanged — real S3 requests,
 * signed for the proxy's address and forwarded with their Host header, so the server accepts them —
 * and the link, not the CPU, limits the sink. The bucket is created and emptied with the AWS SDK
 * directly, not through the proxy.
 */
import { createServer, request, Agent } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

/** What went through the link. */
export interface LinkStats {
  readonly requestsPerSecond: number;
  readonly requests: number;
  /** Requests that were waiting for their turn at most, at once. */
  readonly maxQueued: number;
  /** Requests whose client gave up before their turn. */
  readonly abandoned: number;
  readonly upstreamErrors: number;
}

/** A bucket behind a throttled link. */
export class SlowLake {
  private nextFreeAt = 0;
  private queued = 0;
  private requests = 0;
  private maxQueued = 0;
  private abandoned = 0;
  private upstreamErrors = 0;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  /** Requests waiting for their turn, so closing can drop them rather than keep the process alive. */
  private readonly waiting = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly s3: S3Client,
    private readonly target: URL,
    readonly bucket: string,
    readonly requestsPerSecond: number,
    private server: Server | null = null,
    private port = 0,
  ) {}

  /** Creates a bucket on the S3 server at `endpoint` and opens a link to it admitting `requestsPerSecond`. */
  static async open(endpoint: string, requestsPerSecond: number): Promise<SlowLake> {
    if (!(requestsPerSecond > 0)) throw new RangeError(`the link needs a positive request rate, got ${requestsPerSecond}`);
    const s3 = new S3Client({ endpoint, region: process.env.AWS_REGION ?? 'us-east-1', forcePathStyle: true, maxAttempts: 3 });
    const bucket = `centaur-soak-${randomUUID().slice(0, 8)}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const lake = new SlowLake(s3, new URL(endpoint), bucket, requestsPerSecond);
    await lake.listen();
    return lake;
  }

  /** The S3 endpoint a sink should use: the link. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** `s3://<bucket>/<prefix>`. */
  uri(prefix: string): string {
    return `s3://${this.bucket}/${prefix}`;
  }

  get stats(): LinkStats {
    return { requestsPerSecond: this.requestsPerSecond, requests: this.requests, maxQueued: this.maxQueued, abandoned: this.abandoned, upstreamErrors: this.upstreamErrors };
  }

  /** Objects in the bucket under `prefix` (read directly, not through the link). */
  async count(prefix = ''): Promise<number> {
    let n = 0;
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      n += page.KeyCount ?? 0;
      token = page.NextContinuationToken;
    } while (token !== undefined);
    return n;
  }

  /** Closes the link and deletes the bucket with everything in it. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const timer of this.waiting) clearTimeout(timer);
    this.waiting.clear();
    if (server !== null) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.agent.destroy();
    try {
      for (;;) {
        const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket }));
        const keys = (page.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [{ Key: o.Key }]));
        if (keys.length === 0) break;
        await this.s3.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys } }));
      }
      await this.s3.send(new DeleteBucketCommand({ Bucket: this.bucket }));
    } finally {
      this.s3.destroy();
    }
  }

  private async listen(): Promise<void> {
    const server = createServer((req, res) => this.admit(req, res));
    // A request may wait its turn for long: no server-side deadline on receiving it.
    server.requestTimeout = 0;
    server.headersTimeout = 0;
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** Gives the request the next free turn on the link, then forwards it. */
  private admit(req: IncomingMessage, res: ServerResponse): void {
    const now = performance.now();
    const turn = Math.max(now, this.nextFreeAt);
    this.nextFreeAt = turn + 1000 / this.requestsPerSecond;
    this.queued += 1;
    this.maxQueued = Math.max(this.maxQueued, this.queued);
    req.pause();
    let gone = false;
    res.on('close', () => (gone = true));
    const timer = setTimeout(() => {
      this.waiting.delete(timer);
      this.queued -= 1;
      if (gone || req.destroyed) {
        this.abandoned += 1;
        return;
      }
      this.requests += 1;
      this.forward(req, res);
    }, turn - now);
    this.waiting.add(timer);
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const upstream = request(
      { host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers: req.headers, agent: this.agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      this.upstreamErrors += 1;
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
    req.resume();
  }
}
