/** The error the drift library throws for input it cannot score (an empty column, a method that does not fit the kind). */

/** A drift computation refused its input; the message names the column and why. */
export class DriftInputError extends Error {
  override readonly name = 'DriftInputError';
}
