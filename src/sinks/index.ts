/** Every sink kind, in the order `centaur components` lists them. */
import type { SinkSpec } from '../core/component.js';
import { filesSink } from './files-sink.js';
import { stdoutSink } from './stdout-sink.js';
import { deadLetter } from './dead-letter.js';

export const sinks: readonly SinkSpec[] = [filesSink, stdoutSink, deadLetter];
