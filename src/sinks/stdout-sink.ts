/** `stdout-sink`: a readable live line per prediction for people, or JSON lines for pipes. */
import { Type } from '@sinclair/typebox';
import { defineSink } from '../core/component.js';
import type { Sink } from '../core/component.js';
import type { Envelope } from '../core/envelope.js';
import { CentaurError } from '../core/errors.js';
import { toPredictionRecord } from '../formats/prediction-record.js';

const options = Type.Object(
  {
    format: Type.Union([Type.Literal('line'), Type.Literal('json')], { default: 'line', description: '`line`: one readable line per input; `json`: the prediction record.' }),
    every: Type.Integer({ minimum: 1, default: 1, description: 'Print every n-th input only (the others are still acknowledged).' }),
  },
  { additionalProperties: false },
);

/** Formats one prediction as a line a person can scan. */
export function formatLine(envelope: Envelope): string {
  const p = envelope.prediction;
  const name = envelope.metadata.path ?? envelope.id;
  if (p === undefined) return `${name}  (no prediction)`;
  const pct = `${(p.confidence * 100).toFixed(1)}%`.padStart(6);
  const truth = envelope.label === undefined ? '' : `  label ${envelope.label} ${envelope.label === p.label ? '✓' : '✗'}`;
  const timings = Object.entries(envelope.timings).map(([node, ms]) => `${node} ${ms.toFixed(1)}ms`).join(' ');
  return `${name.padEnd(32)} → ${p.label.padEnd(8)} ${pct}${truth}  ${timings}`;
}

/** Prints predictions to standard output. */
export const stdoutSink = defineSink({
  kind: 'stdout-sink',
  role: 'sink',
  description: 'Prints one readable line (or JSON record) per prediction to standard output.',
  stability: 'beta',
  options,
  examples: [
    { title: 'One readable line per 100th input', options: { every: 100 } },
  ],
  claims: () => ['standard output'],
  create: (o): Sink => {
    let count = 0;
    return {
      write: async (envelopes) => {
        const lines: string[] = [];
        for (const envelope of envelopes) {
          count += 1;
          if ((count - 1) % o.every !== 0) continue;
          lines.push(o.format === 'json' ? JSON.stringify(toPredictionRecord(envelope, { includeEmbedding: false })) : formatLine(envelope));
        }
        if (lines.length === 0) return;
        await new Promise<void>((resolve, reject) =>
          process.stdout.write(lines.join('\n') + '\n', (error) => (error ? reject(new CentaurError('SINK_WRITE_FAILED', `stdout: ${error.message}`, { cause: error })) : resolve())),
        );
      },
      flush: async () => undefined,
      close: async () => undefined,
    };
  },
});
