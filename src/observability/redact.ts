/**
 * Secret redaction for anything shown over HTTP or in logs: values under secret-looking keys
 * become "[redacted]", and passwords inside URLs, keys inside Azure connection strings and signed
 * URLs' signatures are removed, so a status page never leaks them.
 */

const SECRET_KEY = /pass(word)?|secret|token|credential|api[-_]?key|access[-_]?key|account[-_]?key|private[-_]?key|connection[-_]?string|^sas|signature|sasl|auth/i;
/** `AccountKey=…;` and the like inside an Azure Storage connection string. */
const CONNECTION_STRING_SECRET = /\b(AccountKey|SharedAccessSignature|SharedAccessKey)=[^;]*/gi;
/** The signature (and session credentials) in a SAS or presigned URL's query. */
const SIGNED_URL_SECRET = /([?&](?:sig|signature|X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token)=)[^&#\s]*/gi;
const REDACTED = '[redacted]';

/** A deep copy of `value` with secrets replaced. */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) out[key] = SECRET_KEY.test(key) && v !== null && typeof v !== 'object' ? REDACTED : redactSecrets(v);
    return out;
  }
  if (typeof value === 'string') return redactInText(value);
  return value;
}

/** A URL's password, a connection string's keys and a signed URL's signature → "[redacted]"; other text unchanged. */
function redactInText(text: string): string {
  return text
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^/:@\s]*):[^@/\s]*@/i, `$1:${REDACTED}@`)
    .replace(CONNECTION_STRING_SECRET, `$1=${REDACTED}`)
    .replace(SIGNED_URL_SECRET, `$1${REDACTED}`);
}
