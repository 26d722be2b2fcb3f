/** The process logger: structured JSON on stderr, level from CENTAUR_LOG_LEVEL (default `info`). */
import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/** Creates the root logger; tests pass `level: 'silent'`. */
export function createLogger(level: string = process.env.CENTAUR_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: undefined }, pino.destination(2));
}
