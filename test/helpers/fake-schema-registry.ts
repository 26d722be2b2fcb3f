/**
 * An in-process stand-in for a Confluent schema registry, for unit tests that decode Avro without
 * the services: it answers `GET /schemas/ids/{id}` with the schemas it was given and 404
 * (`40403 Schema not found`, as Confluent does) for any other id or path.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSchemaRegistry {
  readonly url: string;
  /** How many schema look-ups it answered (found or not). */
  readonly lookups: () => number;
  close(): Promise<void>;
}

/** Starts one on 127.0.0.1 at a free port, serving `schemas` (id → Avro schema text). */
export async function startFakeSchemaRegistry(schemas: ReadonlyMap<number, string>): Promise<FakeSchemaRegistry> {
  let lookups = 0;
  const server = createServer((request, response) => {
    const match = /^\/schemas\/ids\/(-?\d+)$/.exec(request.url?.split('?')[0] ?? '');
    const schema = match === null || request.method !== 'GET' ? undefined : schemas.get(Number(match[1]));
    if (match !== null) lookups += 1;
    response.setHeader('content-type', 'application/vnd.schemaregistry.v1+json');
    if (schema === undefined) {
      response.statusCode = 404;
      response.end(JSON.stringify({ error_code: 40403, message: 'Schema not found' }));
      return;
    }
    response.end(JSON.stringify({ schema }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    lookups: () => lookups,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
