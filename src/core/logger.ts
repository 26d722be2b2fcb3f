/**
 * The process logger (pino): structured JSON lines on stderr, or readable coloured lines when
 * stderr is a terminal (CENTAUR_LOG_FORMAT=json|pretty forces one). Level from CENTAUR_LOG_LEVEL
 * (default `info`).
 */
import { pino } from 'pino';
import type { Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/** Creates the root logger; tests pass `level: 'silent'`. */
export function createLogger(level: string = process.env.CENTAUR_LOG_LEVEL ?? 'info'): Logger {
  const format = process.env.CENTAUR_LOG_FORMAT ?? (process.stderr.isTTY ? 'pretty' : 'json');
  if (format === 'pretty') {
    return pino({ level, base: undefined }, pretty({ destination: 2, sync: true, singleLine: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' }));
  }
  return pino({ level, base: undefined }, pino.destination(2));
}
