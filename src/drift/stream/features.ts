/**
 * The features drift is measured on, read from an envelope: image statistics from `decode-image`
 * (brightness, contrast, sharpness, width, height, format) and model outputs from `infer` (top
 * class, confidence, each class's probability as `probability.<class>`). The embedding is read
 * separately (a vector, not a column).
 */
import type { Envelope } from '../../core/envelope.js';
import type { CategoryValue, ColumnKind, NumericValue } from '../types.js';

/** One feature: its name, its kind, and whether its values are integers (numpy's integer dtype). */
export interface FeatureSpec {
  readonly name: string;
  readonly kind: ColumnKind;
  readonly integer: boolean;
}

/** The image features every profile holds, in report order. */
export const IMAGE_FEATURES: readonly FeatureSpec[] = [
  { name: 'brightness', kind: 'numerical', integer: false },
  { name: 'contrast', kind: 'numerical', integer: false },
  { name: 'sharpness', kind: 'numerical', integer: false },
  { name: 'width', kind: 'numerical', integer: true },
  { name: 'height', kind: 'numerical', integer: true },
  { name: 'format', kind: 'categorical', integer: false },
];

/** The prefix of per-class probability features. */
export const PROBABILITY_PREFIX = 'probability.';

/** The model-output features for these class names; why: a profile names its classes once. */
export function outputFeatures(classes: readonly string[]): FeatureSpec[] {
  return [
    { name: 'class', kind: 'categorical', integer: false },
    { name: 'confidence', kind: 'numerical', integer: false },
    ...classes.map((c): FeatureSpec => ({ name: `${PROBABILITY_PREFIX}${c}`, kind: 'numerical', integer: false })),
  ];
}

/** A feature's value in an envelope (undefined when the stage that makes it did not run); why: one reader for profiles and windows. */
export function featureValue(envelope: Envelope, feature: FeatureSpec, classes: readonly string[]): NumericValue | CategoryValue {
  const image = envelope.image;
  const prediction = envelope.prediction;
  switch (feature.name) {
    case 'brightness':
      return image?.brightness;
    case 'contrast':
      return image?.contrast;
    case 'sharpness':
      return image?.sharpness;
    case 'width':
      return image?.width;
    case 'height':
      return image?.height;
    case 'format':
      return image?.format;
    case 'class':
      return prediction?.label;
    case 'confidence':
      return prediction?.confidence;
    default: {
      if (prediction === undefined || !feature.name.startsWith(PROBABILITY_PREFIX)) return undefined;
      const index = classes.indexOf(feature.name.slice(PROBABILITY_PREFIX.length));
      return index < 0 ? undefined : prediction.probabilities[index];
    }
  }
}

/** The envelope's embedding, or undefined; why: embedding drift reads vectors, not columns. */
export function embeddingOf(envelope: Envelope): Float32Array | undefined {
  return envelope.embedding;
}
