/** Every source kind, in the order `centaur components` lists them. */
import type { SourceSpec } from '../core/component.js';
import { filesSource } from './files-source.js';
import { kafkaSource } from './kafka-source.js';
import { kinesisSource } from './kinesis-source.js';
import { driftMerge } from './drift-merge-source.js';
import { objectSource } from './object-source.js';
import { labelStudioSource } from './label-studio-source.js';

export const sources: readonly SourceSpec[] = [filesSource, kafkaSource, kinesisSource, driftMerge, objectSource, labelStudioSource];
