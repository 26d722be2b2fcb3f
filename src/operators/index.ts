/** Every operator kind, in the order `centaur components` lists them. */
import type { OperatorSpec } from '../core/component.js';
import { fetchObject } from './fetch-object.js';
import { decodeImage } from './decode-image.js';
import { microBatch } from './micro-batch.js';
import { infer } from './infer.js';
import { drift } from './drift.js';
import { cache } from './cache.js';
import { filter } from './filter.js';
import { selectForLabellingSpec } from './select-for-labelling.js';

export const operators: readonly OperatorSpec[] = [fetchObject, decodeImage, microBatch, infer, drift, selectForLabellingSpec, cache, filter];
