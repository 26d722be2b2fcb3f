/** Number formatting for the dashboard: short, unit-bearing strings, with a dash for missing values. */

export const MISSING = '–';

function missing(value: number | null | undefined): value is null | undefined {
  return value === null || value === undefined || !Number.isFinite(value);
}

/** Up to three significant digits without exponent, trailing zeros dropped, so numbers stay short. */
function significant(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 100) return String(Math.round(value));
  const digits = abs >= 10 ? 1 : 2;
  return String(Number(value.toFixed(digits)));
}

/** A count with k/M/G suffixes above ten thousand (1234 → "1,234", 56789 → "56.8k"), for totals. */
export function formatCount(value: number | null | undefined): string {
  if (missing(value)) return MISSING;
  const abs = Math.abs(value);
  if (abs < 10_000) return Math.round(value).toLocaleString('en-US');
  for (const [limit, suffix] of [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']] as const) {
    if (abs >= limit) return `${significant(value / limit)}${suffix}`;
  }
  return String(Math.round(value));
}

/** A per-second rate (139.24 → "139", 2.345 → "2.35", 12345 → "12.3k"), for throughput figures. */
export function formatRate(value: number | null | undefined): string {
  if (missing(value)) return MISSING;
  if (Math.abs(value) >= 10_000) return formatCount(value);
  return significant(value);
}

/** A duration given in seconds, in µs, ms or s as suits its size (0.38 → "380 ms"), for latencies. */
export function formatSeconds(value: number | null | undefined): string {
  if (missing(value)) return MISSING;
  const abs = Math.abs(value);
  if (abs === 0) return '0 ms';
  if (abs < 0.001) return `${significant(value * 1e6)} µs`;
  if (abs < 1) return `${significant(value * 1e3)} ms`;
  return `${significant(value)} s`;
}

/** A byte count in B, kB, MB or GB (decimal units), for in-flight bytes. */
export function formatBytes(value: number | null | undefined): string {
  if (missing(value)) return MISSING;
  const abs = Math.abs(value);
  for (const [limit, unit] of [[1e9, 'GB'], [1e6, 'MB'], [1e3, 'kB']] as const) {
    if (abs >= limit) return `${significant(value / limit)} ${unit}`;
  }
  return `${Math.round(value)} B`;
}

/** A ratio as a percentage with one decimal (0.995 → "99.5%"), for accuracy and batch fill. */
export function formatPercent(value: number | null | undefined): string {
  if (missing(value)) return MISSING;
  return `${(value * 100).toFixed(1)}%`;
}

/** An uptime in its two largest units, compact enough for a tile (3725 → "1h 2m", 605 → "10m 5s", 12.5 → "12s"), for the headline. */
export function formatUptime(seconds: number | null | undefined): string {
  if (missing(seconds) || seconds < 0) return MISSING;
  const whole = Math.floor(seconds);
  const parts: [number, string][] = [
    [Math.floor(whole / 86_400), 'd'],
    [Math.floor((whole % 86_400) / 3600), 'h'],
    [Math.floor((whole % 3600) / 60), 'm'],
    [whole % 60, 's'],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  if (first === -1) return '0s';
  return parts
    .slice(first, first + 2)
    .filter(([n], i) => i === 0 || n > 0)
    .map(([n, unit]) => `${n}${unit}`)
    .join(' ');
}

/** A time of day in local time, 24-hour HH:MM:SS, from seconds since the epoch: the charts' time axis. */
export function formatClock(epochSeconds: number | null | undefined): string {
  if (missing(epochSeconds)) return MISSING;
  const date = new Date(epochSeconds * 1000);
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}
