/**
 * Secret redaction for anything shown over HTTP or in logs: values under secret-looking keys
 * become "[redacted]", and passwords inside URLs are removed, so a status page never leaks them.
 */

const SECRET_KEY = /pass(word)?|secret|token|credential|api[-_]?key|access[-_]?key|private[-_]?key|sasl|auth/i;
const REDACTED = '[redacted]';

/** A deep copy of `value` with secrets replaced. */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) out[key] = SECRET_KEY.test(key) && v !== null && typeof v !== 'object' ? REDACTED : redactSecrets(v);
    return out;
  }
  if (typeof value === 'string') return redactUrlPassword(value);
  return value;
}

/** `scheme://user:pass@host…` → `scheme://user:[redacted]@host…`; other strings unchanged. */
function redactUrlPassword(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/:@\s]*):[^@/\s]*@/i, `$1:${REDACTED}@`);
}
