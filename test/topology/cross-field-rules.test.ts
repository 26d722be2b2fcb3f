/**
 * Rules between a node's options that the schema cannot say (the specs' `validate` hooks): each is
 * reported by validation — so by `centaur validate` and by `centaur run` before anything starts —
 * at the offending option, with the node, the message and a fix; none waits for `create()`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTopology } from '../../src/topology/load.js';
import { ConfigError } from '../../src/core/errors.js';
import type { ConfigIssue } from '../../src/core/errors.js';

/** Validates YAML text and returns its issues (none when valid). */
function issuesOf(yaml: string): ConfigIssue[] {
  try {
    parseTopology(yaml, 'topo.yaml', { env: {} });
    return [];
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return [...error.issues];
  }
}

const header = 'version: 1\nname: t\nnodes:\n';
const indent = (body: string): string => body.split('\n').map((line) => `    ${line}\n`).join('');

/** Source node `n` (its key on line 4, `body` from line 5) feeding a files sink. */
const source = (body: string): string => `${header}  n:\n${indent(body)}  out: { kind: files-sink, from: [n], dir: out }\n`;
/** Operator node `n` after a files source (its `from` on line 6, `body` from line 7), feeding a files sink. */
const operator = (body: string): string => `${header}  images: { kind: files-source, path: imgs }\n  n:\n    from: [images]\n${indent(body)}  out: { kind: files-sink, from: [n], dir: out }\n`;
/** Sink node `n` after a files source (its `from` on line 6, `body` from line 7). */
const sink = (body: string): string => `${header}  images: { kind: files-source, path: imgs }\n  n:\n    from: [images]\n${indent(body)}`;
/** Dead-letter sink `n` (no `from`; `body` from line 7). */
const deadLetter = (body: string): string => `${header}  images: { kind: files-source, path: imgs }\n  out: { kind: files-sink, from: [images], dir: out }\n  n:\n${indent(body)}`;

const brokers = 'brokers: [b:9092]';
const unsupported = (uri: string): string => `cannot use ${uri}: unsupported scheme \`ftp://\`; the object stores are file://, s3:// and azure://`;

interface Row {
  readonly rule: string;
  readonly yaml: string;
  readonly line: number;
  readonly node: string;
  readonly message: string | RegExp;
  readonly suggestion: RegExp;
}

const rows: Row[] = [
  // kafka-source
  {
    rule: 'kafka-source: neither `topics` nor `topicPattern`',
    yaml: source(`kind: kafka-source\n${brokers}\ngroupId: g\nvalue: { format: json }`),
    line: 5, node: 'n', message: 'give either `topics` or `topicPattern`', suggestion: /add `topics: \[<topic>\]`/,
  },
  {
    rule: 'kafka-source: both `topics` and `topicPattern`',
    yaml: source(`kind: kafka-source\n${brokers}\ngroupId: g\nvalue: { format: json }\ntopics: [frames]\ntopicPattern: "frames-.*"`),
    line: 10, node: 'n', message: 'give either `topics` or `topicPattern`, not both', suggestion: /remove `topicPattern`, or `topics`/,
  },
  {
    rule: 'kafka-source: a `topicPattern` that is not a regular expression',
    yaml: source(`kind: kafka-source\n${brokers}\ngroupId: g\nvalue: { format: json }\ntopicPattern: "cams-("`),
    line: 9, node: 'n', message: /^`topicPattern` is not a regular expression: Invalid regular expression: .*cams-\(/, suggestion: /escape a literal dot/,
  },
  {
    rule: 'kafka-source: Avro values (the default) without `schemaRegistry`, located at the node',
    yaml: source(`kind: kafka-source\n${brokers}\ngroupId: g\ntopics: [frames]`),
    line: 5, node: 'n', message: '`value.format: avro` needs `schemaRegistry`', suggestion: /add `schemaRegistry: \{ url: … \}`, or set `value.format` to `json` or `bytes`/,
  },
  {
    rule: 'kafka-source: `value.format: avro` written without `schemaRegistry`',
    yaml: source(`kind: kafka-source\n${brokers}\ngroupId: g\ntopics: [frames]\nvalue: { format: avro }`),
    line: 9, node: 'n', message: '`value.format: avro` needs `schemaRegistry`', suggestion: /schemaRegistry/,
  },
  {
    rule: 'kafka-source: `startFrom: timestamp` without `startTimestampMs`',
    yaml: source(`kind: kafka-source\n${brokers}\ngroupId: g\ntopics: [frames]\nvalue: { format: json }\nstartFrom: timestamp`),
    line: 10, node: 'n', message: '`startFrom: timestamp` needs `startTimestampMs`', suggestion: /add `startTimestampMs: <ms since the epoch>`/,
  },
  {
    rule: 'kafka-source: an exactly-once producer compressing with a codec kafkajs lacks',
    yaml: source(`kind: kafka-source\n${brokers}\ngroupId: g\ntopics: [frames]\nvalue: { format: json }\nexactlyOnce: true\nclient: kafkajs\ncompression: lz4`),
    line: 12, node: 'n', message: 'compression `lz4` needs `client: confluent` or `client: node-rdkafka`', suggestion: /with kafkajs use `none` or `gzip`/,
  },
  // kinesis-source
  {
    rule: 'kinesis-source: `value.format: avro` without `schemaRegistry`',
    yaml: source('kind: kinesis-source\nstreamName: images\nvalue: { format: avro }'),
    line: 7, node: 'n', message: '`value.format: avro` needs `schemaRegistry`', suggestion: /schemaRegistry/,
  },
  {
    rule: 'kinesis-source: `startFrom: AT_TIMESTAMP` without `startTimestampMs`',
    yaml: source('kind: kinesis-source\nstreamName: images\nstartFrom: AT_TIMESTAMP'),
    line: 7, node: 'n', message: '`startFrom: AT_TIMESTAMP` needs `startTimestampMs`', suggestion: /add `startTimestampMs/,
  },
  {
    rule: 'kinesis-source: a checkpoint URI no store serves',
    yaml: source('kind: kinesis-source\nstreamName: images\ncheckpoint: { uri: "ftp://host/c.json" }'),
    line: 7, node: 'n', message: unsupported('ftp://host/c.json'), suggestion: /write `s3:\/\/bucket\/prefix`/,
  },
  // object-source
  {
    rule: 'object-source: a `uri` with an invalid bucket name',
    yaml: source('kind: object-source\nuri: s3://No_Bucket/x'),
    line: 6, node: 'n', message: 'cannot use s3://No_Bucket/x: `No_Bucket` is not a valid bucket name (3 to 63 lowercase letters, digits and hyphens)', suggestion: /s3:\/\/bucket\/prefix/,
  },
  {
    rule: 'object-source: `mode: poll` without a watermark',
    yaml: source('kind: object-source\nuri: lake\nmode: poll'),
    line: 7, node: 'n', message: /^`mode: poll` needs `watermark: \{ uri \}`, so that a restart goes on after the last object done rather than reading file:\/\/\/.*\/lake\/ again$/, suggestion: /watermark: \{ uri: state\//,
  },
  {
    rule: 'object-source: a watermark URI no store serves',
    yaml: source('kind: object-source\nuri: lake\nwatermark: { uri: "ftp://host/wm.json" }'),
    line: 7, node: 'n', message: unsupported('ftp://host/wm.json'), suggestion: /s3:\/\//,
  },
  // cache
  {
    rule: 'cache: a lookup node that names no model',
    yaml: `${header}  images: { kind: files-source, path: imgs }\n  lookup: { kind: cache, mode: lookup, from: [images] }\n  store: { kind: cache, mode: store, from: [lookup] }\n  out: { kind: files-sink, from: [store], dir: out }\n`,
    line: 5, node: 'lookup', message: 'a lookup cache needs `model.path`, `model.name` with `model.version`, or `model.registry` with `model.name` (and `alias`): the model `infer` serves', suggestion: /model: \{ path:/,
  },
  {
    rule: 'cache: a lookup node that mixes two ways of naming the model',
    yaml: `${header}  images: { kind: files-source, path: imgs }\n  lookup:\n    kind: cache\n    mode: lookup\n    from: [images]\n    model: { path: m, name: demo }\n  store: { kind: cache, mode: store, from: [lookup] }\n  out: { kind: files-sink, from: [store], dir: out }\n`,
    line: 9, node: 'lookup', message: /^a lookup cache needs `model.path`/, suggestion: /nothing else in `model`/,
  },
  // drift
  {
    rule: 'drift: `window.size` not a multiple of `window.slide`',
    yaml: operator('kind: drift\nprofile: p.json\nwindow: { size: 300, slide: 200 }'),
    line: 9, node: 'n', message: 'window.size 300 must be a multiple of window.slide 200', suggestion: /set `window.size: 400`, or a `window.slide` that divides 300/,
  },
  {
    rule: 'drift: partials that are not JSON',
    yaml: operator('kind: drift\nprofile: p.json\npartials: { kafka: { brokers: [b:9092], topic: partials, format: avro } }'),
    line: 9, node: 'n', message: 'partials are JSON', suggestion: /set `partials.kafka.format: json`/,
  },
  {
    rule: 'drift: neither `profile` nor `model`',
    yaml: operator('kind: drift\nwindow: { size: 100 }'),
    line: 6, node: 'n', message: 'give `profile` (a profile file) or `model` (a model folder whose manifest names one)', suggestion: /add `profile: /,
  },
  {
    rule: 'drift: an unknown column method',
    yaml: operator('kind: drift\nprofile: p.json\ncolumns: { brightness: { method: kss } }'),
    line: 9, node: 'n', message: 'columns.brightness: unknown method `kss`', suggestion: /use one of ks, chisquare, z, psi, kl_div, jensenshannon, wasserstein/,
  },
  {
    rule: 'drift: Avro reports without a registry',
    yaml: operator('kind: drift\nprofile: p.json\nreports: { kafka: { brokers: [b:9092], topic: reports, format: avro } }'),
    line: 9, node: 'n', message: 'format avro on topic reports needs `schemaRegistry`', suggestion: /add `schemaRegistry: \{ url: … \}` beside `format`, or set `format: json`/,
  },
  {
    rule: 'drift-merge-source: neither `profile` nor `model`',
    yaml: source(`kind: drift-merge-source\n${brokers}\ntopic: partials\ngroupId: g\ninstances: 2`),
    line: 5, node: 'n', message: 'give `profile` (a profile file) or `model` (a model folder whose manifest names one)', suggestion: /profile/,
  },
  // infer
  {
    rule: 'infer: a model with neither `path` nor `registry`',
    yaml: operator('kind: infer\nmodel: {}'),
    line: 8, node: 'n', message: 'give `model.path`, or `model.registry` with `model.name` (and `alias`)', suggestion: /add `path: <model folder>`/,
  },
  {
    rule: 'infer: a model with both `path` and `registry`',
    yaml: operator('kind: infer\nmodel: { path: m, registry: reg, name: demo }'),
    line: 8, node: 'n', message: 'give `model.path`, or `model.registry` with `model.name` (and `alias`)', suggestion: /remove `model.registry`/,
  },
  {
    rule: 'infer: a registry without a model name',
    yaml: operator('kind: infer\nmodel: { registry: reg }'),
    line: 8, node: 'n', message: 'give `model.path`, or `model.registry` with `model.name` (and `alias`)', suggestion: /add `model.name`/,
  },
  {
    rule: 'infer: `shadow` without a registry',
    yaml: operator('kind: infer\nmodel: { path: m }\nshadow: { alias: candidate }'),
    line: 9, node: 'n', message: '`shadow` needs `model.registry` (the candidate is a registry alias)', suggestion: /or remove `shadow`/,
  },
  {
    rule: 'infer: a kserve gRPC endpoint written as a URL',
    yaml: operator('kind: infer\nmodel: { path: m }\nbackend: { kind: kserve, endpoint: "http://127.0.0.1:8000" }'),
    line: 9, node: 'n', message: 'backend.endpoint `http://127.0.0.1:8000` is not a gRPC `host:port`', suggestion: /write e\.g\. `127\.0\.0\.1:8001`, or set `protocol: http` for a URL/,
  },
  {
    rule: 'infer: a kserve HTTP endpoint that is not a URL',
    yaml: operator('kind: infer\nmodel: { path: m }\nbackend: { kind: kserve, protocol: http, endpoint: "127.0.0.1:8000" }'),
    line: 9, node: 'n', message: 'backend.endpoint `127.0.0.1:8000` is not an http:// or https:// URL', suggestion: /with `protocol: http` write e\.g\. `http:\/\/127\.0\.0\.1:8000`/,
  },
  {
    rule: 'infer: kserve TLS settings with a plain http:// endpoint',
    yaml: operator('kind: infer\nmodel: { path: m }\nbackend: { kind: kserve, protocol: http, endpoint: "http://triton:8000", tls: {} }'),
    line: 9, node: 'n', message: 'backend.tls is set but `http://triton:8000` is not an https:// URL', suggestion: /https:\/\/…`, or remove `tls`/,
  },
  {
    rule: 'infer: a kserve client certificate without its key',
    yaml: operator('kind: infer\nmodel: { path: m }\nbackend: { kind: kserve, endpoint: "triton:8001", tls: { certFile: client.pem } }'),
    line: 9, node: 'n', message: 'backend.tls needs both `certFile` and `keyFile` for a client certificate, or neither', suggestion: /add `keyFile`, or remove `certFile`/,
  },
  // feature-store-sink
  {
    rule: 'feature-store-sink: neither `online` nor `offline`',
    yaml: sink('kind: feature-store-sink'),
    line: 6, node: 'n', message: '`feature-store-sink` needs `online`, `offline` or both', suggestion: /add `online: \{ url, project, featureView \}`/,
  },
  {
    rule: 'feature-store-sink: an offline URI no store serves',
    yaml: sink('kind: feature-store-sink\noffline: { uri: "ftp://host/lake" }'),
    line: 8, node: 'n', message: unsupported('ftp://host/lake/features'), suggestion: /s3:\/\//,
  },
  // kafka-dead-letter
  {
    rule: 'kafka-dead-letter: Avro values (the default) without `schemaRegistry`',
    yaml: deadLetter(`kind: kafka-dead-letter\n${brokers}`),
    line: 7, node: 'n', message: '`value.format: avro` needs `schemaRegistry`', suggestion: /or set `value.format: json`/,
  },
  {
    rule: 'kafka-dead-letter: a codec kafkajs lacks',
    yaml: deadLetter(`kind: kafka-dead-letter\n${brokers}\nvalue: { format: json }\nclient: kafkajs\ncompression: zstd`),
    line: 11, node: 'n', message: 'compression `zstd` needs `client: confluent` or `client: node-rdkafka`', suggestion: /with kafkajs use `none` or `gzip`/,
  },
  // kafka-sink
  {
    rule: 'kafka-sink: `value.format: avro` without `schemaRegistry`',
    yaml: sink(`kind: kafka-sink\n${brokers}\ntopic: predictions\nvalue: { format: avro }`),
    line: 10, node: 'n', message: '`value.format: avro` needs `schemaRegistry`', suggestion: /schemaRegistry/,
  },
  {
    rule: 'kafka-sink: a codec kafkajs lacks',
    yaml: sink(`kind: kafka-sink\n${brokers}\ntopic: predictions\nvalue: { format: json }\nclient: kafkajs\ncompression: snappy`),
    line: 12, node: 'n', message: 'compression `snappy` needs `client: confluent` or `client: node-rdkafka`', suggestion: /with kafkajs use `none` or `gzip`/,
  },
  // object-sink, tfrecord-sink
  {
    rule: 'object-sink: a `uri` no store serves',
    yaml: sink('kind: object-sink\nuri: "ftp://host/lake"'),
    line: 8, node: 'n', message: unsupported('ftp://host/lake'), suggestion: /a path relative to the topology file/,
  },
  {
    rule: 'tfrecord-sink: a `uri` with an invalid bucket name',
    yaml: sink('kind: tfrecord-sink\nuri: s3://Bad_Bucket/tf'),
    line: 8, node: 'n', message: 'cannot use s3://Bad_Bucket/tf: `Bad_Bucket` is not a valid bucket name (3 to 63 lowercase letters, digits and hyphens)', suggestion: /s3:\/\//,
  },
  // select-for-labelling
  {
    rule: 'select-for-labelling: a budget above the window',
    yaml: operator('kind: select-for-labelling\nwindow: { size: 10 }\nbudget: { perWindow: 20 }'),
    line: 9, node: 'n', message: 'budget.perWindow 20 is more than window.size 10: every input would be picked', suggestion: /lower `budget.perWindow` below 10/,
  },
  // label-studio-sink
  {
    rule: 'label-studio-sink: localFilesRoot with inline images',
    yaml: sink('kind: label-studio-sink\nurl: http://ls:8080\ntoken: t\nimage: inline\nlocalFilesRoot: /data'),
    line: 11, node: 'n', message: '`localFilesRoot` applies to `image: uri`; with `image: inline` the bytes go in the task', suggestion: /remove `localFilesRoot`/,
  },
  // retrain-trigger-sink
  {
    rule: 'retrain-trigger-sink: no output for the requests',
    yaml: sink('kind: retrain-trigger-sink'),
    line: 6, node: 'n', message: 'give at least one output for the requests: `files`, `kafka` or `webhook`', suggestion: /add e\.g\. `files: \{ dir: retrain-requests \}`/,
  },
  {
    rule: 'retrain-trigger-sink: Avro requests without a registry',
    yaml: sink('kind: retrain-trigger-sink\nkafka: { brokers: [b:9092], topic: requests, format: avro }'),
    line: 8, node: 'n', message: 'format avro on topic requests needs `schemaRegistry`', suggestion: /schemaRegistry/,
  },
];

for (const row of rows) {
  test(`cross-field rule — ${row.rule}: one issue at its option, with node, message and fix`, () => {
    const issues = issuesOf(row.yaml);
    assert.equal(issues.length, 1, issues.map((i) => `${i.line}:${i.column} ${i.message}`).join('\n'));
    const [issue] = issues as [ConfigIssue];
    assert.equal(issue.file, 'topo.yaml');
    assert.equal(issue.line, row.line, `${issue.message} at line ${issue.line}`);
    assert.equal(issue.node, row.node);
    if (typeof row.message === 'string') assert.equal(issue.message, row.message);
    else assert.match(issue.message, row.message);
    assert.match(issue.suggestion ?? '', row.suggestion);
  });
}

/** Settings each rule allows: validation must not refuse them. */
const allowed: { readonly what: string; readonly yaml: string }[] = [
  { what: 'kafka-source reading JSON from a topic list, or Avro with a registry, from a timestamp', yaml: source(`kind: kafka-source\n${brokers}\ngroupId: g\ntopics: [frames]\nstartFrom: timestamp\nstartTimestampMs: 0\nschemaRegistry: { url: "http://registry" }`) },
  { what: 'kafka-source with a topic pattern and an exactly-once gzip producer', yaml: source(`kind: kafka-source\n${brokers}\ngroupId: g\ntopicPattern: "frames\\\\.[a-z]+"\nvalue: { format: bytes }\nexactlyOnce: true\ncompression: gzip`) },
  { what: 'kafka-sink relaying inputs (`record: input`) without a registry', yaml: sink(`kind: kafka-sink\n${brokers}\ntopic: relayed\nrecord: input`) },
  {
    what: 'kafka-sink with lz4 inside the exactly-once transaction (the source’s producer compresses)',
    yaml: `${header}  images: { kind: kafka-source, ${brokers}, groupId: g, topics: [frames], value: { format: bytes }, exactlyOnce: true }\n  n:\n    from: [images]\n${indent(`kind: kafka-sink\n${brokers}\ntopic: out\nvalue: { format: json }\nexactlyOnce: true\ncompression: lz4`)}`,
  },
  { what: 'kafka-sink compressing with zstd on node-rdkafka', yaml: sink(`kind: kafka-sink\n${brokers}\nclient: node-rdkafka\ntopic: out\nvalue: { format: json }\ncompression: zstd`) },
  { what: 'infer following a registry alias with a shadow', yaml: operator('kind: infer\nmodel: { registry: reg, name: demo }\nshadow: { alias: candidate }') },
  { what: 'infer on kserve over https with a client certificate', yaml: operator('kind: infer\nmodel: { path: m }\nbackend: { kind: kserve, protocol: http, endpoint: "https://triton:8000", tls: { certFile: c.pem, keyFile: k.pem } }') },
  { what: 'drift with a sliding window that divides its size, JSON partials and a column method', yaml: operator('kind: drift\nmodel: { path: m }\nwindow: { size: 300, slide: 100 }\ncolumns: { brightness: { method: psi } }\npartials: { kafka: { brokers: [b:9092], topic: partials } }') },
  { what: 'a cache lookup keyed by a model name and version', yaml: `${header}  images: { kind: files-source, path: imgs }\n  lookup: { kind: cache, mode: lookup, from: [images], model: { name: demo, version: "1" } }\n  store: { kind: cache, mode: store, from: [lookup] }\n  out: { kind: files-sink, from: [store], dir: out }\n` },
  { what: 'object-source polling with a watermark', yaml: source('kind: object-source\nuri: s3://lake/uploads/\nmode: poll\nwatermark: { uri: state/wm.json }') },
  { what: 'feature-store-sink with an offline lake only', yaml: sink('kind: feature-store-sink\noffline: { uri: lake }') },
  { what: 'retrain-trigger-sink writing files', yaml: sink('kind: retrain-trigger-sink\nfiles: { dir: requests }') },
];

for (const { what, yaml } of allowed) {
  test(`cross-field rules allow ${what}`, () => {
    assert.deepEqual(issuesOf(yaml), []);
  });
}

test('one run reports cross-field problems of three nodes and a schema error together, in file order', () => {
  const yaml = `${header}  frames:
    kind: kafka-source
    brokers: [b:9092]
    topics: [frames]
    groupId: g
    startFrom: timestamp
    value: { format: json }
  decode: { kind: decode-image, from: [frames], sise: 1 }
  drift:
    kind: drift
    from: [decode]
    profile: p.json
    window: { size: 300, slide: 200 }
  lake:
    kind: object-sink
    from: [drift]
    uri: s3://Bad_Bucket/x
`;
  let error: unknown;
  try {
    parseTopology(yaml, 'topo.yaml', { env: {} });
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
  assert.equal(error.code, 'CONFIG_INVALID');
  assert.deepEqual(
    error.issues.map((i) => [i.line, i.node, i.message]),
    [
      [9, 'frames', '`startFrom: timestamp` needs `startTimestampMs`'],
      [11, 'decode', 'unknown field `sise`'],
      [16, 'drift', 'window.size 300 must be a multiple of window.slide 200'],
      [20, 'lake', 'cannot use s3://Bad_Bucket/x: `Bad_Bucket` is not a valid bucket name (3 to 63 lowercase letters, digits and hyphens)'],
    ],
  );
  // The message `centaur validate` and `centaur run` print: every problem, one per line, with its fix.
  const lines = error.message.split('\n');
  assert.equal(lines.length, 4);
  assert.match(lines[0] ?? '', /^topo\.yaml:9:16: node `frames`: `startFrom: timestamp` needs `startTimestampMs`; add `startTimestampMs: <ms since the epoch>`/);
  assert.match(lines[2] ?? '', /^topo\.yaml:16:\d+: node `drift`: window\.size 300 must be a multiple of window\.slide 200; set `window\.size: 400`/);
});

test('an exactly-once Kafka sink needs an exactly-once kafka-source in the same topology', () => {
  const body = (sourceEos: boolean) => `version: 1
name: t
nodes:
  in: { kind: kafka-source, brokers: [b], topics: [t], groupId: g, value: { format: bytes }, exactlyOnce: ${sourceEos} }
  out: { kind: kafka-sink, from: [in], brokers: [b], topic: o, value: { format: json }, exactlyOnce: true }
`;
  const issues = (() => {
    try {
      parseTopology(body(false), 'topo.yaml', { env: {} });
      return [];
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return [...error.issues];
    }
  })();
  assert.deepEqual(issues.map((i) => [i.line, i.node, i.message]), [[5, 'out', '`exactlyOnce: true` needs a `kafka-source` with `exactlyOnce: true` in the same topology']]);
  assert.doesNotThrow(() => parseTopology(body(true), 'topo.yaml', { env: {} }));
});

test('the two librdkafka clients cannot share a topology (one process, one librdkafka.so.1); kafkajs goes with either', () => {
  const body = (a: string, b: string) => `version: 1
name: t
nodes:
  in: { kind: kafka-source, brokers: [b], topics: [t], groupId: g, value: { format: bytes }, client: ${a} }
  out: { kind: kafka-sink, from: [in], brokers: [b], topic: o, value: { format: json }, client: ${b} }
`;
  assert.throws(
    () => parseTopology(body('confluent', 'node-rdkafka'), 'topo.yaml', { env: {} }),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.issues.length === 1 &&
      error.issues[0]?.node === 'out' &&
      /`client: node-rdkafka` and node `in`'s `client: confluent` cannot run in one process/.test(error.issues[0]?.message ?? ''),
  );
  for (const [a, b] of [['confluent', 'confluent'], ['node-rdkafka', 'kafkajs'], ['kafkajs', 'confluent']]) assert.doesNotThrow(() => parseTopology(body(a as string, b as string), 'topo.yaml', { env: {} }));
});
