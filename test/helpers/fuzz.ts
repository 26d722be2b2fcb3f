/**
 * Helpers of the fuzz tests (`test/fuzz/`): the outcome of feeding a parser arbitrary input, which
 * must be a value or a `CentaurError` of an expected code, and a check that nothing was added to
 * `Object.prototype` on the way.
 */
import assert from 'node:assert/strict';
import { CentaurError } from '../../src/core/errors.js';
import type { ErrorCode } from '../../src/core/errors.js';

/** How long one parse may take before it counts as a hang (generous: a CI machine may be slow). */
export const PARSE_TIME_LIMIT_MS = 2_000;

/**
 * Runs `parse` on one input: returns `'ok'` or the code of the `CentaurError` it threw. Anything
 * else thrown (a TypeError, a RangeError, a library's own error), a code outside `codes`, or a
 * parse slower than `PARSE_TIME_LIMIT_MS` fails the property with the input described.
 */
export async function typedOutcome(parse: () => unknown, codes: readonly ErrorCode[], input: () => string): Promise<'ok' | ErrorCode> {
  const started = performance.now();
  let outcome: 'ok' | ErrorCode;
  try {
    await parse();
    outcome = 'ok';
  } catch (error) {
    if (!(error instanceof CentaurError)) {
      const e = error as Error;
      assert.fail(`a raw ${e?.constructor?.name ?? typeof error} escaped: ${String(e?.message ?? error)}\n  input: ${input()}\n  ${e?.stack?.split('\n').slice(1, 4).join('\n  ') ?? ''}`);
    }
    assert.ok(codes.includes(error.code), `code ${error.code} is not one of ${codes.join(', ')}: ${error.message}\n  input: ${input()}`);
    outcome = error.code;
  }
  const ms = performance.now() - started;
  assert.ok(ms < PARSE_TIME_LIMIT_MS, `the parse took ${Math.round(ms)} ms\n  input: ${input()}`);
  return outcome;
}

/** The same, for a parser that does not return a promise (one assertion style for both). */
export function typedOutcomeSync(parse: () => unknown, codes: readonly ErrorCode[], input: () => string): 'ok' | ErrorCode {
  const started = performance.now();
  let outcome: 'ok' | ErrorCode;
  try {
    parse();
    outcome = 'ok';
  } catch (error) {
    if (!(error instanceof CentaurError)) {
      const e = error as Error;
      assert.fail(`a raw ${e?.constructor?.name ?? typeof error} escaped: ${String(e?.message ?? error)}\n  input: ${input()}\n  ${e?.stack?.split('\n').slice(1, 4).join('\n  ') ?? ''}`);
    }
    assert.ok(codes.includes(error.code), `code ${error.code} is not one of ${codes.join(', ')}: ${error.message}\n  input: ${input()}`);
    outcome = error.code;
  }
  const ms = performance.now() - started;
  assert.ok(ms < PARSE_TIME_LIMIT_MS, `the parse took ${Math.round(ms)} ms\n  input: ${input()}`);
  return outcome;
}

const PROTOTYPE_KEYS = Reflect.ownKeys(Object.prototype).map(String).sort();

/** Fails when `Object.prototype` gained or lost a key, or a fresh object sees an inherited `polluted`. */
export function assertPrototypeClean(): void {
  assert.deepEqual(Reflect.ownKeys(Object.prototype).map(String).sort(), PROTOTYPE_KEYS, 'Object.prototype was changed');
  assert.equal((({}) as Record<string, unknown>).polluted, undefined, 'Object.prototype was polluted');
}

/** Short text for a failure message: a buffer as hex, anything else as JSON, cut at `max` characters. */
export function describe(value: unknown, max = 400): string {
  const text = Buffer.isBuffer(value) || value instanceof Uint8Array ? `hex ${Buffer.from(value).toString('hex')}` : safeJson(value);
  return text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : Buffer.isBuffer(v) ? `<${v.length} bytes>` : v)) ?? String(value);
  } catch {
    return String(value);
  }
}
