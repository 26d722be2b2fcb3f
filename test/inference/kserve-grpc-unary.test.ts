import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import http2 from 'node:http2';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { frameSpace, GrpcStatusError, Http2GrpcChannel } from '../../src/inference/kserve/grpc-unary.js';

const PATH = '/inference.GRPCInferenceService/ModelInfer';

/** What a test server does with one stream, given the request's headers and body (without its 5-byte prefix). */
type Handler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, body: Buffer) => void;

/** A plain HTTP/2 server that reads each request whole and hands it to `handler`. */
async function serve(handler: Handler, port = 0): Promise<{ address: string; port: number; server: http2.Http2Server; close(): Promise<void> }> {
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => handler(stream, headers, Buffer.concat(chunks).subarray(frameSpace)));
    stream.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    address: `127.0.0.1:${bound}`,
    port: bound,
    server,
    close: async () => {
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A gRPC answer: 200 headers, one framed message, then the status in trailers. */
function answer(stream: http2.ServerHttp2Stream, message: Buffer, code = 0, details = ''): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': String(code), 'grpc-message': encodeURIComponent(details) }));
  const framed = Buffer.alloc(frameSpace + message.length);
  framed.writeUInt32BE(message.length, 1);
  message.copy(framed, frameSpace);
  stream.end(framed);
}

/** `message` with the frame's room before it, as the client hands it over. */
function framed(message: Buffer): Buffer {
  const out = Buffer.alloc(frameSpace + message.length, 0xff);
  message.copy(out, frameSpace);
  return out;
}

/** The error a promise rejects with, which must be a GrpcStatusError. */
async function statusOf(promise: Promise<unknown>): Promise<GrpcStatusError> {
  const error = await promise.then(
    () => assert.fail('the call should have failed'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof GrpcStatusError, `not a status: ${String(error)}`);
  return error;
}

test('a call sends the message as one gRPC frame with the protocol headers and resolves with the answer; calls share one connection', async (t) => {
  const seen: { headers: http2.IncomingHttpHeaders; body: Buffer }[] = [];
  const server = await serve((stream, headers, body) => {
    seen.push({ headers, body });
    answer(stream, Buffer.concat([Buffer.from('echo:'), body]));
  });
  const channel = new Http2GrpcChannel({ address: server.address, maxMessageBytes: 1 << 26 });
  t.after(async () => {
    channel.close();
    await server.close();
  });
  const big = Buffer.alloc(3_000_000, 7);
  big.write('tail', big.length - 4);
  const [a, b, c] = await Promise.all([
    channel.call(PATH, framed(Buffer.from('one')), 5_000),
    channel.call(PATH, framed(big), 5_000),
    channel.call(PATH, framed(Buffer.alloc(0)), 5_000),
  ]);
  assert.equal(a.toString(), 'echo:one');
  assert.equal(b.length, 5 + big.length);
  assert.ok(b.subarray(5).equals(big), 'a 3 MB message arrives whole');
  assert.equal(c.toString(), 'echo:');
  const first = seen.find((s) => s.body.toString() === 'one');
  assert.ok(first !== undefined);
  assert.equal(first.headers[':method'], 'POST');
  assert.equal(first.headers[':path'], PATH);
  assert.equal(first.headers['content-type'], 'application/grpc');
  assert.equal(first.headers.te, 'trailers');
  assert.match(String(first.headers['grpc-timeout']), /^\d+m$/);
  const sessions = await new Promise<number>((resolve) => server.server.getConnections((_, count) => resolve(count)));
  assert.equal(sessions, 1, 'the three calls in flight share one connection');
});

test("a status in the trailers or a trailers-only answer rejects with grpc-js's code and the decoded message", async (t) => {
  const server = await serve((stream, _headers, body) => {
    if (body.toString() === 'trailers') return answer(stream, Buffer.alloc(0), 3, 'input `input` has shape [1, 2] – not [1, 224, 224, 3]');
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': 'Model%20m%20not%20found' }, { endStream: true });
  });
  const channel = new Http2GrpcChannel({ address: server.address, maxMessageBytes: 1024 });
  t.after(async () => {
    channel.close();
    await server.close();
  });
  const inTrailers = await statusOf(channel.call(PATH, framed(Buffer.from('trailers')), 5_000));
  assert.equal(inTrailers.code, 3);
  assert.equal(inTrailers.details, 'input `input` has shape [1, 2] – not [1, 224, 224, 3]');
  const trailersOnly = await statusOf(channel.call(PATH, framed(Buffer.from('only')), 5_000));
  assert.equal(trailersOnly.code, 5);
  assert.equal(trailersOnly.details, 'Model m not found');
});

test('an answer that is not gRPC gets the status the gRPC specification maps its HTTP status to', async (t) => {
  const server = await serve((stream, _headers, body) => {
    const [status, type] = body.toString().split(' ');
    stream.respond({ ':status': Number(status), 'content-type': type ?? 'text/plain' });
    stream.end('not grpc');
  });
  const channel = new Http2GrpcChannel({ address: server.address, maxMessageBytes: 1024 });
  t.after(async () => {
    channel.close();
    await server.close();
  });
  const cases: [string, number][] = [
    ['503', 14],
    ['502', 14],
    ['429', 14],
    ['404', 12],
    ['401', 16],
    ['403', 7],
    ['400', 13],
    ['500', 2],
    ['200 text/html', 2],
  ];
  for (const [request, code] of cases) {
    const error = await statusOf(channel.call(PATH, framed(Buffer.from(request)), 5_000));
    assert.equal(error.code, code, `${request}: ${error.details}`);
  }
});

test('limits: a request over maxMessageBytes is refused unsent; an answer over it is refused as it arrives; both name "larger than max"', async (t) => {
  let requests = 0;
  const server = await serve((stream) => {
    requests += 1;
    answer(stream, Buffer.alloc(2048, 1));
  });
  const channel = new Http2GrpcChannel({ address: server.address, maxMessageBytes: 1024 });
  t.after(async () => {
    channel.close();
    await server.close();
  });
  const sent = await statusOf(channel.call(PATH, framed(Buffer.alloc(1025)), 5_000));
  assert.equal(sent.code, 8);
  assert.match(sent.details, /^Sent message larger than max \(1025 vs\. 1024\)$/);
  assert.equal(requests, 0, 'nothing was sent');
  const received = await statusOf(channel.call(PATH, framed(Buffer.alloc(10)), 5_000));
  assert.equal(received.code, 8);
  assert.match(received.details, /^Received message larger than max \(2048 vs\. 1024\)$/);
});

test('a server that does not answer in time ends the call with DEADLINE_EXCEEDED and is told so by the timeout header', async (t) => {
  const timeouts: string[] = [];
  const server = await serve((stream, headers) => {
    timeouts.push(String(headers['grpc-timeout']));
    stream.on('close', () => undefined);
  });
  const channel = new Http2GrpcChannel({ address: server.address, maxMessageBytes: 1024 });
  t.after(async () => {
    channel.close();
    await server.close();
  });
  const started = Date.now();
  const error = await statusOf(channel.call(PATH, framed(Buffer.from('x')), 150));
  assert.equal(error.code, 4);
  assert.ok(Date.now() - started >= 140, 'not before the deadline');
  assert.deepEqual(timeouts, ['150m']);
});

test('the deadline holds while the connection cannot be opened or never answers at all (plain TCP that stays silent, TLS that never shakes hands)', async (t) => {
  // Reads and drops whatever comes (so it sees the client go), and never writes a byte.
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.resume();
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
  const plain = new Http2GrpcChannel({ address, maxMessageBytes: 1024 });
  const tls = new Http2GrpcChannel({ address, tls: {}, maxMessageBytes: 1024 });
  t.after(async () => {
    plain.close();
    tls.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });
  for (const [channel, what] of [[plain, 'plain'], [tls, 'tls'], [tls, 'tls again']] as const) {
    const started = Date.now();
    const error = await statusOf(channel.call(PATH, framed(Buffer.from('x')), 200));
    assert.equal(error.code, 4, `${what}: ${error.details}`);
    assert.ok(Date.now() - started < 2_000, `${what}: settled at the deadline, not after ${Date.now() - started} ms`);
  }
});

test('TLS: the server certificate is checked against the given CA; an untrusted server gets nothing', async (t) => {
  const dir = path.resolve('test/fixtures/tls');
  const [ca, cert, key] = await Promise.all(['ca.pem', 'server.pem', 'server.key'].map((f) => readFile(path.join(dir, f))));
  const server = http2.createSecureServer({ cert, key });
  let requests = 0;
  server.on('stream', (stream) => {
    requests += 1;
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => answer(stream, Buffer.concat(chunks).subarray(frameSpace)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const trusted = new Http2GrpcChannel({ address, tls: { ca: ca as Buffer }, maxMessageBytes: 1024 });
  const untrusted = new Http2GrpcChannel({ address, tls: {}, maxMessageBytes: 1024 });
  t.after(async () => {
    trusted.close();
    untrusted.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  assert.equal((await trusted.call(PATH, framed(Buffer.from('over tls')), 5_000)).toString(), 'over tls');
  const refused = await statusOf(untrusted.call(PATH, framed(Buffer.from('x')), 5_000));
  assert.equal(refused.code, 14);
  assert.match(refused.details, /certificate/i);
  assert.equal(requests, 1, 'nothing reached the server over the untrusted connection');
});

test('broken answers: no status, a reset stream, a compressed or truncated message are errors, never an empty success', async (t) => {
  const server = await serve((stream, _headers, body) => {
    const kind = body.toString();
    if (kind === 'no-status') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.end(Buffer.from([0, 0, 0, 0, 1, 9]));
    } else if (kind === 'refused') {
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    } else if (kind === 'compressed') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([1, 0, 0, 0, 1, 9]));
    } else if (kind === 'truncated') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([0, 0, 0, 0, 9, 1, 2]));
    } else {
      answer(stream, Buffer.alloc(0), 0);
      // An OK status with no message at all.
    }
  });
  const channel = new Http2GrpcChannel({ address: server.address, maxMessageBytes: 1024 });
  t.after(async () => {
    channel.close();
    await server.close();
  });
  assert.equal((await statusOf(channel.call(PATH, framed(Buffer.from('no-status')), 5_000))).code, 13);
  assert.equal((await statusOf(channel.call(PATH, framed(Buffer.from('refused')), 5_000))).code, 14);
  assert.equal((await statusOf(channel.call(PATH, framed(Buffer.from('compressed')), 5_000))).code, 13);
  assert.equal((await statusOf(channel.call(PATH, framed(Buffer.from('truncated')), 5_000))).code, 13);
  // A zero-length message is a message: the empty protobuf.
  assert.equal((await channel.call(PATH, framed(Buffer.from('empty')), 5_000)).length, 0);
});

test('no server, or a connection lost mid-call, is UNAVAILABLE; the next call connects again', async (t) => {
  const server = await serve((stream, _headers, body) => {
    if (body.toString() === 'drop') stream.session?.destroy();
    else answer(stream, body);
  });
  const port = server.port;
  const channel = new Http2GrpcChannel({ address: server.address, maxMessageBytes: 1024 });
  t.after(() => channel.close());
  assert.equal((await channel.call(PATH, framed(Buffer.from('a')), 5_000)).toString(), 'a');
  const dropped = await statusOf(channel.call(PATH, framed(Buffer.from('drop')), 5_000));
  assert.equal(dropped.code, 14, dropped.details);
  assert.equal((await channel.call(PATH, framed(Buffer.from('b')), 5_000)).toString(), 'b', 'a new connection after the lost one');
  await server.close();
  assert.equal((await statusOf(channel.call(PATH, framed(Buffer.from('c')), 5_000))).code, 14, 'the server is gone');
  const elsewhere = new Http2GrpcChannel({ address: server.address, maxMessageBytes: 1024 });
  const refused = await statusOf(elsewhere.call(PATH, framed(Buffer.from('c')), 5_000));
  elsewhere.close();
  assert.equal(refused.code, 14);
  assert.match(refused.details, /^connect ECONNREFUSED 127\.0\.0\.1:\d+$/, 'the refusal is named');
  const again = await serve((stream, _headers, body) => answer(stream, body), port);
  t.after(() => again.close());
  assert.equal((await channel.call(PATH, framed(Buffer.from('d')), 5_000)).toString(), 'd', 'the server is back on its port');
  channel.close();
  assert.equal((await statusOf(channel.call(PATH, framed(Buffer.from('e')), 5_000))).code, 14, 'a closed channel refuses calls');
});

test('an idle channel does not keep the process alive', () => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const script = `
    import http2 from 'node:http2';
    import { Http2GrpcChannel } from ${JSON.stringify(path.resolve(here, '../../src/inference/kserve/grpc-unary.ts'))};
    const server = http2.createServer();
    // Only the client's side is under test: the server's connections do not hold the process.
    server.on('session', (session) => session.unref());
    server.on('stream', (stream) => {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '0' }, { endStream: true });
      });
    });
    server.listen(0, '127.0.0.1', async () => {
      server.unref();
      const channel = new Http2GrpcChannel({ address: '127.0.0.1:' + server.address().port, maxMessageBytes: 1024 });
      await channel.call('/x/Y', Buffer.alloc(5), 5000).catch((e) => console.log('status', e.code));
    });
  `;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(run.error, undefined, 'the process exits by itself (not killed by the timeout)');
  assert.equal(run.status, 0, run.stderr);
  // A trailers-only OK with no message is not a success for a unary call.
  assert.match(run.stdout, /status 12/);
});
