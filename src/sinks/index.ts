/** Every sink kind, in the order `centaur components` lists them. */
import type { SinkSpec } from '../core/component.js';
import { filesSink } from './files-sink.js';
import { stdoutSink } from './stdout-sink.js';
import { deadLetter } from './dead-letter.js';
import { kafkaSink } from './kafka-sink.js';
import { kafkaDeadLetter } from './kafka-dead-letter.js';
import { objectSink } from './object-sink.js';
import { featureStoreSink } from './feature-store-sink.js';
import { tfrecordSink } from './tfrecord-sink.js';
import { retrainTriggerSink } from './retrain-trigger-sink.js';
import { labelStudioSink } from './label-studio-sink.js';
import { trainingSetSink } from './training-set-sink.js';
import { trainerSink } from './trainer-sink.js';

export const sinks: readonly SinkSpec[] = [filesSink, stdoutSink, deadLetter, kafkaSink, kafkaDeadLetter, objectSink, tfrecordSink, featureStoreSink, retrainTriggerSink, labelStudioSink, trainingSetSink, trainerSink];
