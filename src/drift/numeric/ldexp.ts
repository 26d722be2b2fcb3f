/** x·2^e without overflowing or underflowing the power of two on the way (C's ldexp). */

/** Scales by a power of two in steps; why: 2 ** e alone is 0 or ∞ beyond ±1023 even when x·2^e is not. */
export function ldexp(x: number, e: number): number {
  let value = x;
  let exponent = e;
  while (exponent > 1023) {
    value *= 2 ** 1023;
    exponent -= 1023;
  }
  while (exponent < -1022) {
    value *= 2 ** -1022;
    exponent += 1022;
  }
  return value * 2 ** exponent;
}
