/** numpy's np.round to an integer: halves go to the even neighbour (banker's rounding). */

/** Rounds to the nearest integer, ties to even; why: scipy rounds KS sizes and statistics this way. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}
