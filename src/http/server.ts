/**
 * The HTTP server of a running topology (fastify): `/metrics` for Prometheus, `/healthz`,
 * `/readyz`, the status API, live server-sent events and the dashboard page. Every endpoint is
 * read-only; docs/METRICS.md documents them.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { CentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { PACKAGE_ROOT } from '../core/package-info.js';
import { LiveStatus } from '../observability/live-status.js';
import type { Runtime } from '../runtime/runtime.js';

/** Where to listen: `port` 0 picks a free port. */
export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  /** Bearer token for everything but the probes and `/metrics`. */
  readonly token?: string;
  /** Folder of the built dashboard (default: `dist/dashboard` in the package). */
  readonly dashboardDir?: string;
}

/** A listening server. */
export interface HttpServer {
  /** e.g. `http://127.0.0.1:9464`. */
  readonly url: string;
  readonly live: LiveStatus;
  close(): Promise<void>;
}

/** Largest request body accepted (every endpoint is read-only). */
const REQUEST_BODY_LIMIT = 8 * 1024;

/** Whether two strings are equal, in time independent of where they differ. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * Answers 401 to a request for the API (`/api/…`: the run's data) unless it carries the token
 * (header or `token` query parameter). The probes, `/metrics` and the dashboard's static files
 * (which hold no data) stay open.
 */
function requireToken(app: FastifyInstance, token: string): void {
  app.addHook('onRequest', async (request, reply) => {
    const url = new URL(request.url, 'http://localhost');
    if (!url.pathname.startsWith('/api/')) return;
    const header = request.headers.authorization;
    const given = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice('Bearer '.length) : (url.searchParams.get('token') ?? '');
    if (given !== '' && sameSecret(given, token)) return;
    await reply.code(401).header('www-authenticate', 'Bearer').type('text/plain').send('A bearer token is needed (Authorization: Bearer <token>, or ?token= for the dashboard).\n');
  });
}

/** The default dashboard folder, built by `npm run build`. */
export const DEFAULT_DASHBOARD_DIR = path.join(PACKAGE_ROOT, 'dist', 'dashboard');

/** Starts serving `runtime` on `options.host:options.port`; rejects with CONFIG_INVALID if the address is taken. */
export async function startHttpServer(runtime: Runtime, options: HttpServerOptions, logger: Logger): Promise<HttpServer> {
  const live = new LiveStatus(runtime);
  // Every endpoint is a GET: a request body beyond a few kilobytes is refused (413) unread.
  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: REQUEST_BODY_LIMIT });
  const streams = new Set<() => void>();
  if (options.token !== undefined) requireToken(app, options.token);
  routes(app, runtime, live, streams);
  const dashboardDir = options.dashboardDir ?? DEFAULT_DASHBOARD_DIR;
  if (existsSync(path.join(dashboardDir, 'index.html'))) {
    await app.register(fastifyStatic, { root: dashboardDir, index: 'index.html', cacheControl: true, maxAge: 0 });
  } else {
    app.get('/', async (_request, reply) => reply.code(503).type('text/plain').send(`The dashboard is not built (${dashboardDir}); run \`npm run build\`.\n`));
  }
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    throw new CentaurError('CONFIG_INVALID', `cannot serve HTTP on ${options.host}:${options.port}: ${(error as Error).message}; choose another address with --http or the topology's \`http\` block`, { cause: error });
  }
  live.start();
  const address = app.server.address();
  const port = address !== null && typeof address === 'object' ? address.port : options.port;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  logger.info({ url, topology: runtime.topology.name }, 'HTTP server listening.');
  return {
    url,
    live,
    close: async () => {
      live.stop();
      for (const end of streams) end();
      await app.close();
    },
  };
}

function routes(app: FastifyInstance, runtime: Runtime, live: LiveStatus, streams: Set<() => void>): void {
  app.get('/metrics', async (request, reply) => {
    const accept = request.headers.accept ?? '';
    const { contentType, body } = await runtime.metrics.render(accept.includes('application/openmetrics-text'));
    return reply.type(contentType).send(body);
  });

  app.get('/healthz', async () => ({ status: 'alive' }));

  app.get('/readyz', async (_request, reply) => {
    const failing = runtime.readiness();
    return failing.length === 0 ? { ready: true } : reply.code(503).send({ ready: false, failing });
  });

  app.get('/api/status', async () => live.status());

  app.get('/api/history', async () => ({ points: live.history() }));

  app.get('/api/events', (request, reply) => {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const send = (summary: unknown): void => {
      raw.write(`event: summary\ndata: ${JSON.stringify(summary)}\n\n`);
    };
    // The recent points first, so a page opened mid-run draws the last minutes at once.
    raw.write(`event: history\ndata: ${JSON.stringify({ points: live.history() })}\n\n`);
    send(live.summary());
    const unsubscribe = live.subscribe(send);
    const end = (): void => {
      unsubscribe();
      streams.delete(end);
      if (!raw.writableEnded) raw.end();
    };
    streams.add(end);
    request.raw.on('close', end);
  });
}
